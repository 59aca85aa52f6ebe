import { Page } from '@playwright/test';
import { expect, test } from '../tests/fixtures';
import { DEMO, arrived, hydrated, loadsPage, signIn } from '../tests/helpers';

const OUT = '../docs/screenshots';

/** Opens a page through the main navigation and waits until it is live (a whole page load). */
async function open(page: Page, label: string): Promise<void> {
  await loadsPage(page, () => page.getByTestId('main-nav').getByRole('link', { name: label, exact: true }).click());
}

test('platform dashboard', async ({ page }) => {
  await signIn(page, DEMO.owner);
  await hydrated(page);
  // The recorded week of the demo, by day.
  await page.getByTestId('insight-window').filter({ hasText: 'Last 30 days' }).click();
  await expect(page.getByTestId('chart-bar')).toHaveCount(30);
  await expect(page.getByTestId('denied-tool').first()).toBeVisible();
  await page.screenshot({ path: `${OUT}/dashboard.png`, fullPage: true });
});

test('platform view', async ({ page }) => {
  await signIn(page, DEMO.owner);
  await open(page, 'Policies');
  await expect(page.getByTestId('policy-row').first()).toBeVisible();
  await page.screenshot({ path: `${OUT}/platform-view.png`, fullPage: true });
});

test('tenant editor with a validation error', async ({ page }) => {
  await signIn(page, DEMO.bankAdmin);
  await open(page, 'Policies');
  await loadsPage(page, () => page.getByRole('link', { name: 'New policy' }).click());
  await loadsPage(page, () => page.getByRole('link', { name: /Finance approvals/ }).click());
  const editor = page.getByLabel('Policy document');
  await expect(editor).toHaveValue(/effect: allow/);
  await editor.fill((await editor.inputValue()).replace('effect: allow', 'effect: permit'));
  await expect(page.getByTestId('editor-error')).toContainText('permit');
  await page.screenshot({ path: `${OUT}/tenant-editor-error.png`, fullPage: true });
});

test('previewer', async ({ page }) => {
  await signIn(page, DEMO.owner);
  await open(page, 'Previewer');
  await loadsPage(page, () => page.locator('#preview-tenant').selectOption({ label: 'First Meridian Bank' }));
  await page.locator('#preview-agent').fill('support-bot');
  await page.locator('#preview-agent').press('Tab');
  await arrived(page, /agent=support-bot/);
  await expect(page.getByTestId('effective-rule').filter({ hasText: 'Support bot' })).toBeVisible();
  await page.locator('#whatif-tool').fill('expense.submit');
  await page.locator('#whatif-args').fill('{"amount": 7200}');
  await loadsPage(page, () => page.getByRole('button', { name: 'Evaluate' }).click());
  await expect(page.getByTestId('whatif-result')).toBeVisible();
  await page.screenshot({ path: `${OUT}/previewer.png`, fullPage: true });
});

test('tools and sources', async ({ page }) => {
  await signIn(page, DEMO.owner);
  await open(page, 'Tools & Sources');
  await expect(page.getByTestId('source-card').first()).toBeVisible();
  await page.screenshot({ path: `${OUT}/tools.png`, fullPage: true });
});

test('tenant editor with warnings beside their lines', async ({ page }) => {
  await signIn(page, DEMO.bankAdmin);
  await open(page, 'Policies');
  await loadsPage(page, () => page.getByRole('link', { name: 'New policy' }).click());
  const editor = page.getByLabel('Policy document');
  await editor.fill(
    [
      'name: Expense tiers',
      'description: Approvals by amount, and reads only in business hours.',
      'scope: tenant',
      'rules:',
      '  - tool: expense.submit',
      '    when:',
      '      principal.role: { eq: manager }',
      '      args.amount: { gt: 20K }',
      '    effect: require_approval',
      '    approvers: [CFO officer]',
      '  - tool: "get_.*"',
      '    only_when: { context.hour: { between: [9, 16] } }',
      '    reason: reads are for business hours',
      '',
    ].join('\n'),
  );
  await expect(page.getByTestId('editor-warning').first()).toBeVisible();
  await page.screenshot({ path: `${OUT}/tenant-editor-warnings.png`, fullPage: true });
});

test('API keys, with a new key shown once', async ({ page }) => {
  await signIn(page, DEMO.bankAdmin);
  await open(page, 'API keys');
  await page.locator('#key-name').fill('support-bot production');
  await page.locator('#key-agents').fill('support-bot');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-key-secret')).toBeVisible();
  await expect(page.getByTestId('key-row').first()).toBeVisible();
  await page.screenshot({ path: `${OUT}/api-keys.png`, fullPage: true });
});
