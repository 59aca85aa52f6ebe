import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { DEMO, PASSWORD, apiSession, hydrated, navLabels, signIn, stamp, arrived, loadsPage } from './helpers';

/** True when the page is no wider than the window: nothing forces a sideways scroll. */
async function fitsTheWindow(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

test('a tenant admin signs in, navigates and confirms a delete with the keyboard alone', async ({ page }) => {
  const id = stamp();
  const name = `E2E keyboard ${id}`;
  const admin = await apiSession(DEMO.bankAdmin);
  const created = await admin.post('/api/v1/policies', {
    data: { name, scope: 'agent', agent: `e2e-keyboard-${id}`, rules: [{ tool: 'records.delete', effect: 'deny', reason: 'kept for the keyboard test' }] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const policyId = (await created.json()).id as string;

  try {
    // Sign in: type, Tab to the next field, Enter submits.
    await page.goto('/login');
    await hydrated(page);
    await page.getByLabel('Email').focus();
    await page.keyboard.type(DEMO.bankAdmin);
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Password', { exact: true })).toBeFocused();
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('main-nav')).toBeVisible();
    await expect(page).toHaveURL(/\/$/);

    // A navigation link is reached by focus and followed with Enter.
    await hydrated(page);
    await page.getByTestId('main-nav').getByRole('link', { name: 'Policies', exact: true }).focus();
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(/\/policies$/);
    await page.getByLabel('Search', { exact: true }).focus();
    await page.keyboard.type(name);
    await page.keyboard.press('Enter');
    await arrived(page, /\/policies\?q=/);
    const row = page.getByTestId('policy-row').filter({ hasText: name });
    await expect(row).toHaveCount(1);
    await row.getByRole('link', { name }).focus();
    await page.keyboard.press('Enter');
    await arrived(page, new RegExp(`/policies/${policyId}$`));

    // The delete dialog opens with Cancel focused, so Enter or Escape never deletes by accident.
    await page.getByRole('button', { name: 'Delete', exact: true }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Delete this policy?' });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
    expect((await admin.get(`/api/v1/policies/${policyId}`)).status()).toBe(200);

    // Tab moves from Cancel to the destructive button; Enter confirms.
    await page.getByRole('button', { name: 'Delete', exact: true }).focus();
    await page.keyboard.press('Enter');
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(dialog.getByRole('button', { name: 'Delete policy' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('toast').filter({ hasText: 'Policy deleted.' })).toBeVisible();
    await expect(page).toHaveURL(/\/policies$/);
    expect((await admin.get(`/api/v1/policies/${policyId}`)).status()).toBe(404);
  } finally {
    await admin.delete(`/api/v1/policies/${policyId}`);
    await admin.dispose();
  }
});

for (const who of [DEMO.bankAdmin, DEMO.owner]) {
  test(`on a phone, ${who}'s menu shows every entry and every page fits the screen`, async ({ page }) => {
    // Every entry, read at desktop width where the sidebar shows them all.
    await signIn(page, who);
    const labels = await navLabels(page);
    expect(labels.length).toBeGreaterThan(1);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto('/');
    await hydrated(page);
    const nav = page.getByTestId('main-nav');
    const menu = page.getByRole('button', { name: 'Menu' });
    expect(await fitsTheWindow(page), 'the dashboard fits a phone screen').toBe(true);
    // Closed, the menu takes no room; the button says so to a screen reader.
    await expect(nav).toBeHidden();
    await expect(menu).toHaveAttribute('aria-expanded', 'false');

    for (const label of labels) {
      await hydrated(page);
      await page.getByRole('button', { name: 'Menu' }).click();
      await expect(page.getByRole('button', { name: 'Close menu' })).toHaveAttribute('aria-expanded', 'true');
      // Open, every entry is on screen at once, none cut off at the edge.
      for (const entry of labels) {
        const link = nav.getByRole('link', { name: entry, exact: true });
        await expect(link).toBeInViewport({ ratio: 1 });
      }
      await loadsPage(page, () => nav.getByRole('link', { name: label, exact: true }).click());
      await expect(page.locator('main h1').first()).toBeVisible();
      // Choosing an entry closes the menu.
      await expect(nav).toBeHidden();
      expect(await fitsTheWindow(page), `the ${label} page fits a phone screen`).toBe(true);
    }
  });
}

test('on a phone, the previewer puts the what-if form right under the agent, above the merged rules', async ({ page }) => {
  await signIn(page, DEMO.bankAdmin);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/preview');
  await hydrated(page);
  const whatIf = (await page.locator('#whatif-tool').boundingBox())!;
  const agent = (await page.locator('#preview-agent').boundingBox())!;
  const rules = (await page.getByTestId('effective-rules').boundingBox())!;
  expect(whatIf.y).toBeGreaterThan(agent.y);
  expect(whatIf.y, 'the what-if form comes before the merged rules').toBeLessThan(rules.y);
  expect(whatIf.y, 'the what-if form is within the first two screens').toBeLessThan(2 * 844);
});
