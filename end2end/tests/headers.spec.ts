import { expect, expectConsoleError, test } from './fixtures';
import { DEMO, hydrated, signIn } from './helpers';

// The release console as scripts/run serves it: pages, static files and the API all carry the
// security headers, and a console page still hydrates and works under its script policy.
const BASE_POLICY = "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";
const EXPECTED: Record<string, string> = {
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

function expectHeaders(what: string, headers: Record<string, string>) {
  for (const [name, value] of Object.entries(EXPECTED)) {
    expect(headers[name], `${what}: ${name}`).toBe(value);
  }
}

/** A page's policy adds scripts from this origin or with the page's own nonce; returns the nonce. */
function expectPagePolicy(what: string, headers: Record<string, string>): string {
  expectHeaders(what, headers);
  const policy = headers['content-security-policy'] ?? '';
  const match = policy.match(/^(.*); script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})' 'wasm-unsafe-eval'$/);
  expect(match, `${what}: ${policy}`).not.toBeNull();
  expect(match![1]).toBe(BASE_POLICY);
  return match![2];
}

test('pages, static files and the API carry the security headers', async ({ page, request }) => {
  const login = await page.goto('/login');
  const first = expectPagePolicy('the sign-in page', login!.headers());
  // The hydration script carries the nonce the header names (in the HTML as sent: browsers hide
  // nonces from the DOM), and the page hydrated under that policy.
  expect(await login!.text()).toContain(`nonce="${first}"`);
  await hydrated(page);
  for (const path of ['/pkg/charter.js', '/pkg/charter.css', '/api/v1/openapi.json']) {
    const response = await request.get(path);
    expect(response.status(), path).toBe(200);
    expectHeaders(path, response.headers());
    expect(response.headers()['content-security-policy'], path).toBe(BASE_POLICY);
  }
  await signIn(page, DEMO.bankAdmin);
  const policies = await page.goto('/policies');
  const second = expectPagePolicy('a signed-in page', policies!.headers());
  expect(second, 'every page gets a fresh nonce').not.toBe(first);
  await expect(page.getByTestId('policy-row').first()).toBeVisible();
});

test('a script injected into a page does not run', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  // As a stored XSS would: an inline script without the page's nonce. The browser refuses it and
  // says so on the console, which this test expects (the fixture fails tests on other errors).
  expectConsoleError(page, /Content Security Policy/i);
  const refused = page.waitForEvent('console', (message) => message.type() === 'error' && /Content Security Policy/i.test(message.text()));
  await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.__injected = true;';
    document.body.appendChild(script);
  });
  await refused;
  expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
});

test('the browser bundle is sent compressed to whoever accepts it, and whole to whoever does not', async ({ page, request }) => {
  // The page's own request for the bundle: the browser decompresses what it is sent and hydrates.
  const sent = page.waitForResponse((response) => /\/pkg\/charter[^/]*\.wasm$/.test(response.url()));
  await page.goto('/login');
  const wasm = await sent;
  expect(['br', 'gzip'], `the bundle as the browser got it: ${wasm.headers()['content-encoding']}`).toContain(wasm.headers()['content-encoding']);
  await hydrated(page);

  const whole = await request.get('/pkg/charter.wasm', { headers: { 'accept-encoding': 'identity' } });
  expect(whole.status()).toBe(200);
  expect(whole.headers()['content-encoding']).toBeUndefined();
  expect(whole.headers()['content-type']).toBe('application/wasm');
  const wholeBody = await whole.body();
  for (const encoding of ['br', 'gzip']) {
    const compressed = await request.get('/pkg/charter.wasm', { headers: { 'accept-encoding': encoding } });
    expect(compressed.status(), encoding).toBe(200);
    expect(compressed.headers()['content-encoding'], encoding).toBe(encoding);
    expect(compressed.headers()['content-type'], encoding).toBe('application/wasm');
    expectHeaders(`the bundle as ${encoding}`, compressed.headers());
    // Less than half the bytes go over the wire, and they are the same bundle once decompressed.
    expect(Number(compressed.headers()['content-length']), encoding).toBeLessThan(wholeBody.length / 2);
    expect((await compressed.body()).equals(wholeBody), `${encoding} decompresses to the bundle`).toBe(true);
  }
});
