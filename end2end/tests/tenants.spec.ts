import { expect, test } from './fixtures';
import { DEMO, agent, apiSession, hydrated, openNav, signIn, signInWithoutScript, stamp, tenantKey } from './helpers';

test('the owner opens a tenant, reads its facts and changes its policy quota', async ({ page }) => {
  const botName = `e2e-tenant-${stamp()}`;
  // A decision of the hospital's, so its page has an agent and a recent decision to show.
  const bot = await agent(await tenantKey(DEMO.hospitalAdmin));
  const decided = await (await bot.post('/api/v1/decide', { data: { tool: 'patients.read', args: { id: 'p-1' }, agent: botName } })).json();
  expect(decided.decision).toBe('allow');
  await bot.dispose();
  const owner = await apiSession(DEMO.owner);
  const policies = ((await (await owner.get('/api/v1/tenants/st-aurelia-health/policies')).json()) as unknown[]).length;

  await signIn(page, DEMO.owner);
  await openNav(page, 'Tenants', /\/tenants$/);
  await page.getByRole('link', { name: 'St. Aurelia Health' }).click();
  await expect(page).toHaveURL(/\/tenants\/st-aurelia-health$/);
  await expect(page.getByRole('heading', { name: 'St. Aurelia Health' })).toBeVisible();
  const original = Number(await page.getByTestId('tenant-quota').innerText());
  expect(original).toBeGreaterThan(0);
  await expect(page.getByTestId('tenant-policy-count')).toHaveText(`${policies} of ${original}`);
  await expect(page.getByTestId('agents-table')).toContainText(botName);
  await expect(page.getByTestId('recent-decisions').getByRole('listitem').filter({ hasText: botName }).first()).toContainText('patients.read');
  await expect(page.getByTestId('team-table')).toContainText('Dr. Priya Nair');
  // The tenant's keys are one link away.
  await expect(page.getByTestId('tenant-keys-link')).toHaveAttribute('href', '/keys?tenant=st-aurelia-health');

  const raised = original + 7;
  try {
    await page.locator('#quota-input').fill(String(raised));
    await page.getByRole('button', { name: 'Save quota' }).click();
    // The form posts and the page comes back with the new value and a message, shown once.
    await expect(page.getByTestId('toast').filter({ hasText: `Policy quota set to ${raised}.` })).toBeVisible();
    await expect(page).toHaveURL(/\/tenants\/st-aurelia-health$/);
    await expect(page.getByTestId('tenant-quota')).toHaveText(String(raised));
    await expect(page.getByTestId('tenant-policy-count')).toHaveText(`${policies} of ${raised}`);
    await expect(page.locator('#quota-input')).toHaveValue(String(raised));
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('tenant-quota')).toHaveText(String(raised));
    await expect(page.getByTestId('toast')).toHaveCount(0);

    // Not a number: an error beside the form naming the field and the value, and the quota stays.
    await page.locator('#quota-input').fill('abc');
    await page.getByRole('button', { name: 'Save quota' }).click();
    const error = page.getByTestId('form-error');
    await expect(error).toBeVisible();
    await expect(error).toHaveAttribute('role', 'alert');
    await expect(error).toContainText('Quota not changed');
    await expect(error).toContainText('policy quota');
    await expect(error).toContainText('abc');
    await expect(page.locator('#quota-input')).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByTestId('tenant-quota')).toHaveText(String(raised));
    await expect(page.getByTestId('toast')).toHaveCount(0);

    // Back to what it was; the error goes with the address that carried it.
    await page.locator('#quota-input').fill(String(original));
    await page.getByRole('button', { name: 'Save quota' }).click();
    await expect(page.getByTestId('toast').filter({ hasText: `Policy quota set to ${original}.` })).toBeVisible();
    await expect(page).toHaveURL(/\/tenants\/st-aurelia-health$/);
    await expect(page.getByTestId('form-error')).toHaveCount(0);
    await expect(page.getByTestId('tenant-quota')).toHaveText(String(original));
  } finally {
    const restored = await owner.put('/api/v1/tenants/st-aurelia-health/quota', { data: { policy_quota: original } });
    expect(restored.ok()).toBeTruthy();
    await owner.dispose();
  }
});

test('the owner sets how long a tenant keeps its receipts', async ({ page }) => {
  const owner = await apiSession(DEMO.owner);
  await signIn(page, DEMO.owner);
  await page.goto('/tenants/rocketlane');
  await expect(page.getByTestId('tenant-retention')).toHaveText('90 days');
  try {
    await page.locator('#retention-input').fill('30');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await expect(page.getByTestId('toast').filter({ hasText: 'Receipts are now kept 30 days.' })).toBeVisible();
    await expect(page.getByTestId('tenant-retention')).toHaveText('30 days');
    // The tenant reads it in its settings.
    const admin = await apiSession(DEMO.startupAdmin);
    expect((await (await admin.get('/api/v1/settings')).json()).receipt_retention_days).toBe(30);
    await admin.dispose();

    // Out of range: an error naming the field and the value, and the retention stays.
    await page.locator('#retention-input').fill('0');
    await page.getByRole('button', { name: 'Save retention' }).click();
    const error = page.getByTestId('form-error');
    await expect(error).toBeVisible();
    await expect(error).toContainText('Retention not changed');
    await expect(error).toContainText('receipt retention must be 1-3650 days');
    await expect(error).toContainText('got “0”');
    await expect(page.getByTestId('tenant-retention')).toHaveText('30 days');
  } finally {
    const restored = await owner.put('/api/v1/tenants/rocketlane/retention', { data: { receipt_retention_days: 90 } });
    expect(restored.ok()).toBeTruthy();
    await owner.dispose();
  }
});

test('the tenant settings work without the browser bundle', async ({ browser }) => {
  // Plain forms post to their server functions and the server answers with the next page, so a
  // browser that runs no script at all still changes the setting and sees the result.
  const { context, page } = await signInWithoutScript(browser, DEMO.owner);
  const owner = await apiSession(DEMO.owner);
  try {
    await page.goto('/tenants/rocketlane');
    await expect(page.getByTestId('tenant-retention')).toHaveText('90 days');
    await page.locator('#retention-input').fill('45');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await expect(page).toHaveURL(/\/tenants\/rocketlane$/);
    await expect(page.getByTestId('tenant-retention')).toHaveText('45 days');
    await expect(page.getByTestId('toast').filter({ hasText: 'Receipts are now kept 45 days.' })).toBeVisible();

    await page.locator('#retention-input').fill('99999');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await expect(page.getByTestId('form-error')).toContainText('receipt retention must be 1-3650 days');
    await expect(page.getByTestId('tenant-retention')).toHaveText('45 days');
  } finally {
    const restored = await owner.put('/api/v1/tenants/rocketlane/retention', { data: { receipt_retention_days: 90 } });
    expect(restored.ok()).toBeTruthy();
    await owner.dispose();
    await context.close();
  }
});
