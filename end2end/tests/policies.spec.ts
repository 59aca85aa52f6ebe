import { APIRequestContext } from '@playwright/test';
import { expect, test } from './fixtures';
import { DEMO, apiSession, hydrated, openNav, signIn, stamp, arrived } from './helpers';

test.describe('the platform view of policies', () => {
  test('the owner sees every policy labelled, and the filters narrow the list', async ({ page }) => {
    await signIn(page, DEMO.owner);
    await openNav(page, 'Policies', /\/policies$/);
    const rows = page.getByTestId('policy-row');
    const row = (name: string) => rows.filter({ has: page.getByRole('link', { name, exact: true }) });

    // Labels: the platform's policy is a default, the tenants' are their own, with the tenant named.
    await expect(row('Platform guardrails').getByTestId('policy-label')).toHaveText('Platform Default');
    await expect(row('Platform guardrails')).toContainText('Platform');
    await expect(row('Finance controls').getByTestId('policy-label')).toHaveText('Customer Defined');
    await expect(row('Finance controls')).toContainText('First Meridian Bank');
    await expect(row('Support bot')).toContainText('First Meridian Bank · agent support-bot');
    await expect(row('Move fast').getByTestId('policy-label')).toHaveText('Customer Defined');
    await expect(row('Move fast')).toContainText('Rocketlane Labs');
    await expect(row('HIPAA PHI masking')).toContainText('St. Aurelia Health');
    await expect(page.getByRole('columnheader', { name: 'Label' })).toBeVisible();

    // Tenant: only that tenant's policies, and no platform policy.
    await page.getByRole('combobox', { name: 'Tenant', exact: true }).selectOption({ label: 'First Meridian Bank' });
    await arrived(page, /\/policies\?tenant=meridian-bank$/);
    await expect(row('Platform guardrails')).toHaveCount(0);
    await expect(row('Move fast')).toHaveCount(0);
    await expect(row('Finance controls')).toHaveCount(1);
    await expect(row('Support bot')).toHaveCount(1);
    for (const text of await rows.allInnerTexts()) expect(text).toContain('First Meridian Bank');
    await expect(page).toHaveURL(/\/policies\?tenant=meridian-bank$/);

    // With the platform's policies, which govern that tenant too.
    const withPlatform = page.getByLabel("With the platform's policies, which govern it too");
    await withPlatform.check();
    await arrived(page, /\/policies\?tenant=meridian-bank&include_platform=true$/);
    await expect(row('Platform guardrails')).toHaveCount(1);
    await expect(row('Finance controls')).toHaveCount(1);
    await expect(row('Move fast')).toHaveCount(0);
    await expect(page).toHaveURL(/include_platform=true/);
    await withPlatform.uncheck();
    await arrived(page, /\/policies\?tenant=meridian-bank$/);
    await expect(row('Platform guardrails')).toHaveCount(0);

    // Label: the platform's defaults only.
    await page.getByRole('combobox', { name: 'Tenant', exact: true }).selectOption({ label: 'All tenants' });
    await arrived(page, /\/policies$/);
    await expect(row('Move fast')).toHaveCount(1);
    await page.getByRole('combobox', { name: 'Label', exact: true }).selectOption({ label: 'Platform Default' });
    await arrived(page, /\/policies\?label=platform_default$/);
    await expect(row('Platform guardrails')).toHaveCount(1);
    await expect(row('Finance controls')).toHaveCount(0);
    await expect(rows.getByTestId('policy-label').filter({ hasText: 'Customer Defined' })).toHaveCount(0);
    await page.getByRole('combobox', { name: 'Label', exact: true }).selectOption({ label: 'Customer Defined' });
    await arrived(page, /\/policies\?label=customer_defined$/);
    await expect(row('Platform guardrails')).toHaveCount(0);
    await expect(row('Finance controls')).toHaveCount(1);
    await expect(rows.getByTestId('policy-label').filter({ hasText: 'Platform Default' })).toHaveCount(0);
    await page.getByRole('combobox', { name: 'Label', exact: true }).selectOption({ label: 'Any label' });
    await arrived(page, /\/policies$/);

    // Tool: policies with a rule naming a matching tool pattern.
    await page.getByLabel('Tool', { exact: true }).fill('payments');
    await page.getByLabel('Tool', { exact: true }).press('Enter');
    await arrived(page, /\/policies\?tool=payments$/);
    await expect(row('Move fast')).toHaveCount(0);
    await expect(row('HIPAA PHI masking')).toHaveCount(0);
    await expect(row('Platform guardrails')).toHaveCount(1);
    await expect(row('Finance controls')).toHaveCount(1);
    await expect(row('Support bot')).toHaveCount(1);
    for (const text of await rows.allInnerTexts()) expect(text).toContain('payments');

    // Text search over name, description and agent.
    await page.getByLabel('Tool', { exact: true }).fill('');
    await page.getByLabel('Search', { exact: true }).fill('never pays');
    await page.getByLabel('Search', { exact: true }).press('Enter');
    await arrived(page, /\/policies\?q=never\+pays$/);
    await expect(rows).toHaveCount(1);
    await expect(row('Support bot')).toHaveCount(1);
    await page.getByLabel('Search', { exact: true }).fill('no policy is called this');
    await page.getByLabel('Search', { exact: true }).press('Enter');
    await arrived(page, /\/policies\?q=no\+policy\+is\+called\+this$/);
    await expect(page.getByText('No policy matches these filters.')).toBeVisible();
  });

  test('the list pages 25 at a time', async ({ page }) => {
    const prefix = `e2e-page-${stamp()}`;
    const owner = await apiSession(DEMO.owner);
    const created: string[] = [];
    try {
      for (let n = 1; n <= 30; n++) {
        const response = await owner.post('/api/v1/tenants/rocketlane/policies', {
          data: { name: `${prefix} ${String(n).padStart(2, '0')}`, scope: 'agent', agent: `e2e-bot-${String(n).padStart(2, '0')}`, rules: [{ tool: 'x.y', effect: 'deny' }] },
        });
        expect(response.status(), await response.text()).toBe(201);
        created.push((await response.json()).id);
      }

      await signIn(page, DEMO.owner);
      await openNav(page, 'Policies', /\/policies$/);
      await page.getByLabel('Search', { exact: true }).fill(prefix);
      await page.getByLabel('Search', { exact: true }).press('Enter');
      await arrived(page, /\/policies\?q=e2e-page-/);
      const rows = page.getByTestId('policy-row');
      await expect(page.getByTestId('page-range')).toHaveText('1–25 of 30');
      await expect(rows).toHaveCount(25);
      await expect(rows.first()).toContainText(`${prefix} 01`);
      // The pages are links; the first has none to a page before it.
      await expect(page.getByRole('link', { name: 'Previous' })).toHaveCount(0);

      await page.getByRole('link', { name: 'Next' }).click();
      await expect(page).toHaveURL(/[?&]offset=25(&|$)/);
      await expect(page.getByTestId('page-range')).toHaveText('26–30 of 30');
      await expect(rows).toHaveCount(5);
      await expect(rows.last()).toContainText(`${prefix} 30`);
      await expect(page.getByRole('link', { name: 'Next' })).toHaveCount(0);

      await page.getByRole('link', { name: 'Previous' }).click();
      await expect(page.getByTestId('page-range')).toHaveText('1–25 of 30');

      // Changing a filter starts again at the first page.
      await page.getByRole('link', { name: 'Next' }).click();
      await expect(page.getByTestId('page-range')).toHaveText('26–30 of 30');
      await page.getByLabel('Tool', { exact: true }).fill('x.y');
      await page.getByLabel('Tool', { exact: true }).press('Enter');
      // Without the offset: the first page of the new list.
      await arrived(page, /\/policies\?tool=x\.y&q=e2e-page-[^&]+$/);
      await expect(page.getByTestId('page-range')).toHaveText('1–25 of 30');

      // An address past the end of the list leads back to its first page.
      await page.goto(`/policies?q=${prefix}&offset=50`);
      await expect(page.getByTestId('past-the-end')).toContainText('This page is past the end of the list, which has 30 policies.');
      await page.getByRole('link', { name: 'Back to the first page' }).click();
      await expect(page).toHaveURL(new RegExp(`/policies\\?q=${prefix}$`));
      await expect(page.getByTestId('page-range')).toHaveText('1–25 of 30');
    } finally {
      await removePolicies(owner, 'rocketlane', created);
      await owner.dispose();
    }
  });
});

test('a tenant admin sees only their own tenant’s policies, without labels', async ({ page }) => {
  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'Policies', /\/policies$/);
  const rows = page.getByTestId('policy-row');
  await expect(rows.filter({ hasText: 'Finance controls' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Support bot' })).toHaveCount(1);
  await expect(page.getByRole('link', { name: 'New policy' })).toBeVisible();
  await expect(page.getByText('Platform guardrails')).toHaveCount(0);
  await expect(page.getByText('Move fast')).toHaveCount(0);
  await expect(page.getByText('HIPAA PHI masking')).toHaveCount(0);
  await expect(page.getByRole('columnheader', { name: 'Label' })).toHaveCount(0);
  await expect(page.getByTestId('policy-label')).toHaveCount(0);
  await expect(page.getByRole('combobox', { name: 'Tenant', exact: true })).toHaveCount(0);
  // No "Platform" scope to pick: it could only ever show nothing.
  await expect(page.getByRole('combobox', { name: 'Scope', exact: true }).locator('option')).toHaveText(['Any scope', 'Tenant', 'Agent']);
  // Even a search for the platform's policy finds nothing.
  await page.getByLabel('Search', { exact: true }).fill('guardrails');
  await page.getByLabel('Search', { exact: true }).press('Enter');
  await arrived(page, /\/policies\?q=guardrails$/);
  await expect(page.getByText('No policy matches these filters.')).toBeVisible();
});

test('the filters live in the address: a link, a reload and the way back from a policy keep them', async ({ page }) => {
  await signIn(page, DEMO.owner);
  await page.goto('/policies?tenant=meridian-bank&tool=payments');
  await hydrated(page);
  const rows = page.getByTestId('policy-row');
  const tenant = page.getByRole('combobox', { name: 'Tenant', exact: true });
  const tool = page.getByLabel('Tool', { exact: true });
  const expectFiltered = async () => {
    await expect(tenant).toHaveValue('meridian-bank');
    await expect(tool).toHaveValue('payments');
    await expect(rows.filter({ hasText: 'Finance controls' })).toHaveCount(1);
    await expect(rows.filter({ hasText: 'Move fast' })).toHaveCount(0);
    await expect(rows.filter({ hasText: 'Platform guardrails' })).toHaveCount(0);
    for (const text of await rows.allInnerTexts()) expect(text).toContain('First Meridian Bank');
  };
  await expectFiltered();

  // A search goes into the address with the other filters; an empty one leaves it.
  await page.getByLabel('Search', { exact: true }).fill('finance');
  await page.getByLabel('Search', { exact: true }).press('Enter');
  await expect(page).toHaveURL(/[?&]q=finance(&|$)/);
  await expect(page).toHaveURL(/[?&]tenant=meridian-bank(&|$)/);
  await page.getByLabel('Search', { exact: true }).fill('');
  await page.getByLabel('Search', { exact: true }).press('Enter');
  await expect(page).not.toHaveURL(/[?&]q=/);
  await expect(page).toHaveURL(/\/policies\?tenant=meridian-bank&tool=payments$/);
  await hydrated(page);

  // Into a policy and back: the list is as it was.
  await rows.filter({ hasText: 'Finance controls' }).getByRole('link', { name: 'Finance controls', exact: true }).click();
  await expect(page).toHaveURL(/\/policies\/[0-9a-f-]{36}$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/policies\?/);
  await expectFiltered();
  await page.goForward();
  await expect(page).toHaveURL(/\/policies\/[0-9a-f-]{36}$/);
  await page.goBack();
  await expectFiltered();

  // A reload keeps them too.
  await page.reload();
  await hydrated(page);
  await expectFiltered();
});

async function removePolicies(api: APIRequestContext, slug: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    const response = await api.delete(`/api/v1/tenants/${slug}/policies/${id}`);
    expect([204, 404]).toContain(response.status());
  }
}
