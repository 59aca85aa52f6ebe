import { expect, test } from './fixtures';
import { DEMO, apiSession, hydrated, openNav, signIn, arrived } from './helpers';

test.describe('support sees everything and changes nothing', () => {
  test.beforeEach(async ({ page }) => {
    await signIn(page, DEMO.support);
  });

  test('the policy list is labelled but offers no way to create or import', async ({ page }) => {
    await openNav(page, 'Policies', /\/policies$/);
    const rows = page.getByTestId('policy-row');
    await expect(rows.filter({ hasText: 'Platform guardrails' }).getByTestId('policy-label')).toHaveText('Platform Default');
    await expect(rows.filter({ hasText: 'Finance controls' }).getByTestId('policy-label')).toHaveText('Customer Defined');
    // Reading out is fine; writing in is not offered.
    await expect(page.getByRole('link', { name: 'Export YAML' })).toBeVisible();
    await expect(page.getByRole('link', { name: 'New policy' })).toHaveCount(0);
    await expect(page.getByRole('link', { name: 'Import' })).toHaveCount(0);
  });

  test('a policy opens read-only, without save or delete', async ({ page }) => {
    await openNav(page, 'Policies', /\/policies$/);
    await page.getByRole('link', { name: 'Finance controls', exact: true }).click();
    await arrived(page, /\/policies\/[0-9a-f-]{36}$/);
    await expect(page.getByRole('heading', { name: 'Finance controls' })).toBeVisible();
    await expect(page.getByTestId('read-only-notice')).toHaveText('You can read this policy; your account cannot change it.');
    await expect(page.locator('#policy-document')).toHaveValue(/name: Finance controls/);
    await expect(page.locator('#policy-document')).toHaveAttribute('readonly', '');
    await expect(page.getByRole('button', { name: 'Save policy' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Delete' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Add rule' })).toHaveCount(0);
  });

  test('the tools page shows each tool’s state in words, with no switches', async ({ page }) => {
    await openNav(page, 'Tools & Sources', /\/tools$/);
    await expect(page.getByRole('heading', { name: 'Tools & Sources' })).toBeVisible();
    await expect(page.getByTestId('source-card').filter({ hasText: 'Finance API' })).toBeVisible();
    await expect(page.getByTestId('tool-row').filter({ hasText: 'system.exec' }).getByTestId('tool-state')).toHaveText('Disabled');
    await expect(page.getByTestId('tool-row').filter({ hasText: 'get_balance' }).getByTestId('tool-state')).toHaveText('Enabled');
    await expect(page.getByRole('switch')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Import tools' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  });

  test('a tenant page has no quota or retention form', async ({ page }) => {
    await openNav(page, 'Tenants', /\/tenants$/);
    await page.getByRole('link', { name: 'First Meridian Bank' }).click();
    await arrived(page, /\/tenants\/meridian-bank$/);
    await expect(page.getByTestId('tenant-quota')).toBeVisible();
    await expect(page.locator('#quota-input')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Save quota' })).toHaveCount(0);
    await expect(page.getByTestId('tenant-retention')).toHaveText('90 days');
    await expect(page.locator('#retention-input')).toHaveCount(0);
  });

  test('typing the new-policy address gives the read-only notice instead of an editor', async ({ page }) => {
    await page.goto('/policies/new');
    await hydrated(page);
    await expect(page.getByTestId('read-only-notice')).toContainText('cannot create them');
    await expect(page.locator('#policy-document')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Save policy' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Add rule' })).toHaveCount(0);
    await page.getByRole('link', { name: 'Back to the policies' }).click();
    await arrived(page, /\/policies$/);
  });
});

test('the server refuses support’s writes too', async () => {
  const support = await apiSession(DEMO.support);
  const created = await support.post('/api/v1/tenants/rocketlane/policies', { data: { name: 'support was here', scope: 'tenant', rules: [{ tool: 'x.y', effect: 'deny' }] } });
  expect(created.status()).toBe(403);
  const quota = await support.put('/api/v1/tenants/rocketlane/quota', { data: { policy_quota: 5 } });
  expect(quota.status()).toBe(403);
  const retention = await support.put('/api/v1/tenants/rocketlane/retention', { data: { receipt_retention_days: 1 } });
  expect(retention.status()).toBe(403);
  await support.dispose();
});
