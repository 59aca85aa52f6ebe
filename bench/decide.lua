-- wrk script: every request asks for one decision with a durable receipt.
-- CHARTER_KEY is a tenant API key created by scripts/bench-decide.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CHARTER_KEY")
wrk.body = '{"tool":"expense.submit","args":{"amount":1200,"currency":"USD"},"agent":"expense-bot","principal":{"user":"u-42","roles":["employee"],"attributes":{"department":"sales"}}}'

-- No response() callback: it makes wrk parse every body and costs the shared CPU. Non-2xx
-- answers are still counted by wrk ("Non-2xx or 3xx responses") and reported as status errors.
done = function(summary, latency, requests)
  io.write(string.format("decisions/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("p50: %.2f ms  p90: %.2f ms  p99: %.2f ms  max: %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("errors: connect %d, read %d, write %d, status %d, timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
