import { expect, test } from './fixtures';
import { DEMO, signIn } from './helpers';

// The release console as scripts/run serves it: pages, static files and the API all carry the
// security headers, and a console page still hydrates and works under them.
const EXPECTED: Record<string, string> = {
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'content-security-policy': "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
};

function expectHeaders(what: string, headers: Record<string, string>) {
  for (const [name, value] of Object.entries(EXPECTED)) {
    expect(headers[name], `${what}: ${name}`).toBe(value);
  }
}

test('pages, static files and the API carry the security headers', async ({ page, request }) => {
  const login = await page.goto('/login');
  expectHeaders('the sign-in page', login!.headers());
  for (const path of ['/pkg/charter.js', '/pkg/charter.css', '/api/v1/openapi.json']) {
    const response = await request.get(path);
    expect(response.status(), path).toBe(200);
    expectHeaders(path, response.headers());
  }
  await signIn(page, DEMO.bankAdmin);
  const policies = await page.goto('/policies');
  expectHeaders('a signed-in page', policies!.headers());
  await expect(page.getByTestId('policy-row').first()).toBeVisible();
});
