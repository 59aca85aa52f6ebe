// `cargo leptos end-to-end` starts the server and the tests at the same moment; wait until the
// server answers before any test runs.
export default async function globalSetup(): Promise<void> {
  const base = process.env.CHARTER_BASE_URL ?? 'http://127.0.0.1:3000';
  const deadline = Date.now() + 180_000;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${base}/healthz`);
      if (response.ok) return;
      lastError = `status ${response.status}`;
    } catch (err) {
      lastError = String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the server at ${base} did not answer within 180 s: ${lastError}`);
}
