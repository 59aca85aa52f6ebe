#!/usr/bin/env python3
"""The regex abuse of issue 12 (finding 1), measured against a running server (not a test).

Prints, for the server at BASE (started by scripts/bench-regex-abuse with the demo data):
- submitting the assessment's policy (1,000 Unicode `\\w{20}` conditions): answer, time, and the
  server's resident memory before, after and at its peak;
- another tenant's decision latency, idle and while two such submissions run back to back;
- a tenant holding the heaviest regexes it can save (300 `\\w{20}` in one policy where nothing
  limits it, else as many near-limit policies as the tenant limits allow): its first decision
  after the save, and the platform owner's policy list.
"""
import http.cookiejar
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

BASE = os.environ["BASE"]
PID = int(os.environ["SERVER_PID"])
PASSWORD = os.environ.get("CHARTER_DEMO_PASSWORD", "charter-demo")


def memory_kib(field):
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


class Client:
    def __init__(self, key=None):
        self.key = key
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(BASE + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("Origin", BASE)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.key:
            request.add_header("Authorization", f"Bearer {self.key}")
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=600) as response:
                payload = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            payload = error.read()
            status = error.code
        return status, payload, time.perf_counter() - started

    def sign_in(self, username):
        body = f"username={urllib.parse.quote(username)}&password={PASSWORD}".encode()
        status, payload, _ = self.call("POST", "/api/auth/login", body, "application/x-www-form-urlencoded")
        assert status == 200, (status, payload)
        return self


def key_for(admin):
    status, payload, _ = admin.call("POST", "/api/v1/keys", {"name": "benchmark"})
    assert status == 201, (status, payload)
    return Client(json.loads(payload)["secret"])


def regex_policy(name, count, pattern):
    rules = [{"tool": "docs.read", "when": {"args.x": {"matches": pattern.replace("{n}", str(n))}}, "effect": "allow"} for n in range(count)]
    return {"name": name, "scope": "tenant", "rules": rules}


def latencies(key, count, seconds=None):
    """Up to `count` decisions one after another (stopping after `seconds`): the times of the
    answered ones, and how many were not answered 200."""
    samples, failures = [], 0
    stop_at = time.perf_counter() + seconds if seconds else None
    for _ in range(count):
        status, _, took = key.call("POST", "/api/v1/decide", {"tool": "docs.read", "agent": "benchmark"})
        if status == 200:
            samples.append(took * 1000)
        else:
            failures += 1
        if stop_at and time.perf_counter() > stop_at:
            break
    return samples, failures


def describe(measured):
    samples, failures = measured
    samples = sorted(samples)
    answered = f"p50 {statistics.median(samples):.1f} ms, max {samples[-1]:.1f} ms over {len(samples)} decisions" if samples else "no decision answered"
    return answered + (f"; {failures} not answered (503)" if failures else "")


def main():
    owner = Client().sign_in("owner@charter.example")
    bank = Client().sign_in("admin@meridian-bank.example")
    other = key_for(Client().sign_in("admin@rocketlane.example"))
    latencies(other, 20)

    heavy = regex_policy("Heavy", 1000, r"\w{20}")
    print(f"the assessment's policy: {len(json.dumps(heavy)) // 1024} KB, 1,000 `\\w{{20}}` conditions")
    before = memory_kib("VmRSS")
    status, payload, seconds = bank.call("POST", "/api/v1/policies", heavy)
    answer = json.loads(payload).get("error", {}).get("message", "")[:110] if status != 201 else "saved"
    print(f"  submitted: HTTP {status} in {seconds:.2f} s ({answer})")
    print(f"  server memory: {mib(before)} before, {mib(memory_kib('VmRSS'))} after, peak {mib(memory_kib('VmHWM'))}")
    if status == 201:
        bank.call("DELETE", f"/api/v1/policies/{json.loads(payload)['id']}")

    print(f"another tenant's decisions, idle: {describe(latencies(other, 200))}")
    stop = threading.Event()

    def submit_again():
        while not stop.is_set():
            status, payload, _ = bank.call("POST", "/api/v1/policies", heavy)
            if status == 201:
                bank.call("DELETE", f"/api/v1/policies/{json.loads(payload)['id']}")

    submitters = [threading.Thread(target=submit_again) for _ in range(2)]
    for submitter in submitters:
        submitter.start()
    time.sleep(0.5)
    busy = latencies(other, 200, seconds=60)
    stop.set()
    for submitter in submitters:
        submitter.join()
    print(f"another tenant's decisions, while two such submissions run: {describe(busy)}")

    bank_key = key_for(bank)
    status, payload, seconds = bank_key.call("POST", "/api/v1/policies", regex_policy("Three hundred", 300, r"\w{20}"))
    if status == 201:
        print(f"300 `\\w{{20}}` in one policy, saved with an API key: HTTP 201 in {seconds:.2f} s")
    else:
        print(f"300 `\\w{{20}}` in one policy: HTTP {status} in {seconds:.3f} s; saving the most the limits allow instead")
        saved = 0
        for n in range(100):
            # Three `\w{n}` near 1 MiB each plus 97 small ones: as heavy as one policy may be.
            rules = regex_policy(f"Heavy {n}", 97, f"^p{n}_{{n}}$")
            rules["rules"] += regex_policy("", 3, f"\\w{{{18 + n % 3}}}x{n}{{n}}")["rules"]
            status, _, _ = bank_key.call("POST", "/api/v1/policies", rules)
            if status != 201:
                break
            saved += 1
        print(f"  saved {saved} policies before the tenant limits refused the next (HTTP {status})")
    memory = memory_kib("VmRSS")
    status, _, seconds = bank_key.call("POST", "/api/v1/decide", {"tool": "docs.read", "args": {"x": "y"}})
    print(f"  that tenant's first decision after the save: HTTP {status} in {seconds * 1000:.0f} ms (memory {mib(memory)} -> {mib(memory_kib('VmRSS'))})")
    # The console's policy list (every tenant's policies, as the platform owner sees them).
    search = {"search": {"tenant_id": None, "label": None, "scope": None, "tool": None, "text": None}, "offset": 0}
    for attempt in ("", " again"):
        status, payload, seconds = owner.call("POST", "/api/policies/search", search)
        print(f"  the platform owner's policy list{attempt}: HTTP {status} in {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    import urllib.parse  # noqa: F401  (used by sign_in)
    sys.exit(main())
