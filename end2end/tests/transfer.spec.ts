import { APIRequestContext, Page } from '@playwright/test';
import { expect, expectConsoleError, test } from './fixtures';
import { readFile } from 'node:fs/promises';
import { DEMO, apiSession, openNav, signIn, stamp, arrived } from './helpers';

async function versionOf(api: APIRequestContext, id: string): Promise<{ version: number; reason: string }> {
  const policy = await (await api.get(`/api/v1/policies/${id}`)).json();
  return { version: policy.version, reason: policy.document.rules[0].reason };
}

test.describe('export and import', () => {
  let admin: APIRequestContext;
  let policyId = '';
  let name = '';
  let oldReason = '';

  // A policy of this test's own, so the bank's demo policies never change.
  test.beforeEach(async () => {
    const id = stamp();
    name = `E2E transfer ${id}`;
    oldReason = `e2e ${id}: refunds go through a person`;
    admin = await apiSession(DEMO.bankAdmin);
    const created = await admin.post('/api/v1/policies', {
      data: { name, description: 'exported and imported by the e2e test', scope: 'agent', agent: `e2e-transfer-${id}`, rules: [{ tool: 'payments.refund', effect: 'deny', reason: oldReason }] },
    });
    expect(created.status(), await created.text()).toBe(201);
    policyId = (await created.json()).id;
  });

  test.afterEach(async () => {
    await admin.delete(`/api/v1/policies/${policyId}`);
    await admin.dispose();
  });

  /** Exports the tenant's policies through the "Export YAML" link and returns the file's text. */
  async function exportYaml(page: Page): Promise<string> {
    await openNav(page, 'Policies', /\/policies$/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export YAML' }).click()]);
    expect(download.suggestedFilename()).toBe('charter-meridian-bank-policies.yaml');
    const path = await download.path();
    return readFile(path, 'utf8');
  }

  async function openImport(page: Page): Promise<void> {
    await openNav(page, 'Policies', /\/policies$/);
    await page.getByRole('link', { name: 'Import', exact: true }).click();
    await arrived(page, /\/policies\/import$/);
    await expect(page.getByRole('heading', { name: 'Import policies' })).toBeVisible();
  }

  test('a tenant admin exports, changes a reason, previews the change and applies it', async ({ page }) => {
    await signIn(page, DEMO.bankAdmin);
    const exported = await exportYaml(page);
    expect(exported.startsWith('format: charter.policies/v1\n')).toBeTruthy();
    expect(exported).toContain(`name: ${name}`);
    expect(exported).toContain(oldReason);
    expect(exported).toContain('name: Finance controls');

    const newReason = `${oldReason}, and a manager`;
    const edited = exported.replace(oldReason, newReason);
    expect(edited).not.toEqual(exported);

    await openImport(page);
    await expect(page.getByRole('button', { name: 'Apply import' })).toBeDisabled();
    await page.locator('#import-text').fill(edited);
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await expect(page.getByTestId('import-summary')).toHaveText(/^0 to create, 1 to update, 0 to delete, \d+ unchanged$/);
    const change = page.getByTestId('import-change').filter({ hasText: name });
    await expect(change).toContainText('update');
    await expect(change.locator('pre span').filter({ hasText: /^- / }).filter({ hasText: oldReason }).first()).toBeVisible();
    await expect(change.locator('pre span').filter({ hasText: /^\+ / }).filter({ hasText: newReason })).toBeVisible();
    // Previewing wrote nothing.
    expect(await versionOf(admin, policyId)).toEqual({ version: 1, reason: oldReason });

    await page.getByRole('button', { name: 'Apply import' }).click();
    await expect(page.getByTestId('import-result')).toHaveText('Import applied: 1 policy changed.');
    expect(await versionOf(admin, policyId)).toEqual({ version: 2, reason: newReason });

    // The list shows the new version.
    await openNav(page, 'Policies', /\/policies$/);
    await page.getByLabel('Search', { exact: true }).fill(name);
    await page.getByLabel('Search', { exact: true }).press('Enter');
    await arrived(page, /\/policies\?q=/);
    await expect(page.getByTestId('policy-row').filter({ hasText: name })).toContainText('v2');
  });

  test('an invalid file is refused with the place of the error, and nothing changes', async ({ page }) => {
    expectConsoleError(page, /status of 422 .*\/api\/policies\/import/);
    await signIn(page, DEMO.bankAdmin);
    const exported = await exportYaml(page);
    // The rule of this test's policy gets an effect the language does not have.
    const lines = exported.split('\n');
    const reasonLine = lines.findIndex((line) => line.includes(oldReason));
    const effectLine = lines.slice(0, reasonLine).map((line, n) => [line, n] as const).filter(([line]) => line.includes('effect: deny')).pop()![1];
    lines[effectLine] = lines[effectLine].replace('effect: deny', 'effect: maybe');
    const broken = lines.join('\n');

    await openImport(page);
    await page.locator('#import-text').fill(broken);
    await page.getByRole('button', { name: 'Preview changes' }).click();
    const error = page.getByRole('alert').filter({ hasText: 'maybe' });
    await expect(error).toBeVisible();
    await expect(error).toContainText(`line ${effectLine + 1}`);
    await expect(page.getByTestId('import-summary')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Apply import' })).toBeDisabled();
    expect(await versionOf(admin, policyId)).toEqual({ version: 1, reason: oldReason });

    // Not an export at all.
    await page.locator('#import-text').fill('format: something-else\npolicies: []\n');
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'charter.policies/v1' })).toContainText('format');
    await expect(page.getByRole('button', { name: 'Apply import' })).toBeDisabled();
  });
});
