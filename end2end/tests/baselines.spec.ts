import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { DEMO, apiSession, openNav, signIn, stamp, arrived, loadsPage } from './helpers';

const toast = (page: Page, text: string | RegExp) => page.getByTestId('toast').filter({ hasText: text });

test('a tenant admin extends a platform baseline, and the previewer shows its rules in their scope', async ({ page }) => {
  const id = stamp();
  const baseline = `e2e-${id}`;
  const agentName = `e2e-baseline-${id}`;
  // The platform publishes a baseline and releases it to every tenant.
  const owner = await apiSession(DEMO.owner);
  const created = await owner.post('/api/v1/platform/policies', {
    headers: { 'Content-Type': 'application/yaml' },
    data: `name: E2E baseline ${id}\nscope: platform\nbaseline: ${baseline}\nrules:\n  - tool: "e2e_${id}.*"\n    effect: deny\n    reason: the e2e baseline ${id} forbids it\n`,
  });
  expect(created.status(), await created.text()).toBe(201);
  const published = await owner.post('/api/v1/platform/releases', { data: { note: `baseline ${id}` } });
  expect(published.status()).toBe(201);
  const number = (await published.json()).number;
  expect((await owner.post(`/api/v1/platform/releases/${number}/promote`, { data: { all: true } })).status()).toBe(200);
  await owner.dispose();

  // A tenant admin builds an agent's policy on it; a misspelt name is refused at its line.
  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'Policies', /\/policies$/);
  await page.getByRole('link', { name: 'New policy' }).click();
  await arrived(page, /\/policies\/new$/);
  const doc = (name: string) => `name: E2E extends ${id}\nscope: agent\nagent: ${agentName}\nextends: [${name}]\nrules:\n  - tool: "e2e_${id}.read"\n    effect: allow\n`;
  await page.locator('#policy-document').fill(doc(`${baseline}x`));
  await expect(page.getByTestId('editor-error')).toContainText(`“${baseline}x” is not a baseline of the platform release this tenant runs`);
  await expect(page.getByRole('button', { name: 'Save policy' })).toBeDisabled();
  await page.locator('#policy-document').fill(doc(baseline));
  await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
  await expect(toast(page, 'Saved version 1.')).toBeVisible();
  await arrived(page, /\/policies\/[0-9a-f-]{36}$/);

  // The previewer shows the baseline's rule in the agent's scope, named as a baseline.
  await openNav(page, 'Previewer', /\/preview$/);
  await page.locator('#preview-agent').fill(agentName);
  await page.locator('#preview-agent').press('Tab');
  const rule = page.getByTestId('effective-rule').filter({ hasText: `baseline ${baseline} (extended by E2E extends ${id})` });
  await expect(rule).toContainText(`e2e_${id}.*`);
  await expect(rule).toContainText('deny');
});
