import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { DEMO, PASSWORD, apiSession, hydrated, navLabels, signIn, stamp } from './helpers';

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
    const row = page.getByTestId('policy-row').filter({ hasText: name });
    await expect(row).toHaveCount(1);
    await row.getByRole('link', { name }).focus();
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(new RegExp(`/policies/${policyId}$`));

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
  test(`on a phone, every page of ${who}'s console fits the screen and the navigation reaches it`, async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, who);
    const nav = page.getByTestId('main-nav');
    expect(await fitsTheWindow(page), 'the dashboard fits a phone screen').toBe(true);

    // The navigation sits above the page on a phone, not beside it.
    const navBox = await nav.boundingBox();
    const mainBox = await page.locator('main').boundingBox();
    expect(navBox && mainBox && navBox.y + navBox.height <= mainBox.y).toBeTruthy();

    for (const label of await navLabels(page)) {
      await hydrated(page);
      await nav.getByRole('link', { name: label, exact: true }).click();
      await expect(page.locator('main h1').first()).toBeVisible();
      expect(await fitsTheWindow(page), `the ${label} page fits a phone screen`).toBe(true);
    }
  });
}
