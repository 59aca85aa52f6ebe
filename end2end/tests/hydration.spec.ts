import { Page } from '@playwright/test';
import { expect, expectNoConsoleErrors, test } from './fixtures';
import { DEMO, apiSession, hydrated, signIn } from './helpers';

// Every page of the console, as every demo login, loaded afresh many times: each load must hydrate
// without a single browser error. A mismatch between what the server rendered and what the browser
// expects shows up only on some loads (it once panicked on a quarter of them), so one load proves
// little. One login of each role (platform admin, support, tenant admin, approver) loads each of its
// pages LOADS times (CHARTER_HYDRATION_LOADS, default 20); the other logins, whose pages are the
// same code over other data, a quarter as often. A load takes about a quarter of a second.
const LOADS = Number(process.env.CHARTER_HYDRATION_LOADS ?? 20);
const ONE_PER_ROLE = [DEMO.owner, DEMO.support, DEMO.bankAdmin, DEMO.bankManager];

/** The pages a signed-in user reaches: the navigation, plus the pages behind its links. */
async function pagesOf(page: Page, username: string): Promise<string[]> {
  const nav = page.getByTestId('main-nav').getByRole('link');
  const paths = new Set<string>();
  for (const href of await nav.evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''))) paths.add(href);
  const writer = [DEMO.owner, DEMO.bankAdmin, DEMO.startupAdmin, DEMO.hospitalAdmin].includes(username);
  if (paths.has('/policies')) {
    const api = await apiSession(username);
    const platform = [DEMO.owner, DEMO.support].includes(username);
    const listed = await api.get(platform ? '/api/v1/platform/policies' : '/api/v1/policies');
    expect(listed.status(), await listed.text()).toBe(200);
    const policies = (await listed.json()) as { id: string }[];
    expect(policies.length, `${username} has a policy to open`).toBeGreaterThan(0);
    paths.add(`/policies/${policies[0].id}`);
    if (writer) {
      paths.add('/policies/new');
      paths.add('/policies/import');
    }
    if (platform) paths.add('/tenants/meridian-bank');
    await api.dispose();
  }
  return [...paths];
}

/** Loads `path` afresh and waits until it has hydrated and its deferred content has settled. */
async function loadAndHydrate(page: Page, path: string, round: number, who: string): Promise<void> {
  const response = await page.goto(path);
  expect(response?.status(), `${path} as ${who}`).toBe(200);
  await hydrated(page);
  // Content inside a Transition hydrates a moment after the page: give it a frame and a task.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
  expectNoConsoleErrors(page, `on load ${round} of ${path} as ${who}`);
}

test.describe('every page hydrates on every load', () => {
  test.describe.configure({ timeout: 600_000 });

  test('the sign-in page', async ({ page }) => {
    for (let round = 1; round <= LOADS; round++) await loadAndHydrate(page, '/login', round, 'a signed-out visitor');
  });

  for (const [who, username] of Object.entries(DEMO)) {
    const loads = ONE_PER_ROLE.includes(username) ? LOADS : Math.max(1, Math.ceil(LOADS / 4));
    test(`as ${who} (${username}), ${loads} loads of each page`, async ({ page }) => {
      await signIn(page, username);
      const paths = await pagesOf(page, username);
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) {
        for (let round = 1; round <= loads; round++) await loadAndHydrate(page, path, round, username);
      }
    });
  }
});
