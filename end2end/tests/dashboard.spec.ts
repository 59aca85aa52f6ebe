import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { DEMO, agent, hydrated, openNav, signIn, stamp, tenantKey, arrived } from './helpers';

/** The figure of a dashboard tile, as a number. */
async function figure(page: Page, testid: string): Promise<number> {
  return Number((await page.getByTestId(testid).innerText()).replace(/,/g, ''));
}

/** Opens one of the dashboard's windows through its control, as a person would. */
async function openWindow(page: Page, label: string, name: string): Promise<void> {
  await hydrated(page);
  await page.getByTestId('insight-window').filter({ hasText: label }).click();
  await expect(page).toHaveURL(new RegExp(`/\\?window=${name}$`));
  await expect(page.getByTestId('insight-window').filter({ hasText: label })).toHaveAttribute('aria-current', 'page');
}

const lastHour = (page: Page) => openWindow(page, 'Last hour', 'hour');

/** The sum of the figures of the chart's last two bars (a minute or a day may turn meanwhile). */
async function lastTwoBars(page: Page): Promise<number> {
  const totals = await page.getByTestId('chart-bar').evaluateAll((bars) => bars.map((bar) => Number(bar.getAttribute('data-total'))));
  return totals.slice(-2).reduce((a, b) => a + b, 0);
}

test('a tenant admin sees their own agents’ decisions charted, and a new decision after reload', async ({ page }) => {
  const botName = `e2e-dash-${stamp()}`;
  const otherBot = `e2e-dash-other-${stamp()}`;
  await signIn(page, DEMO.bankAdmin);
  await lastHour(page);
  await expect(page.getByTestId('decision-chart')).toBeVisible();
  await expect(page.getByTestId('chart-bar')).toHaveCount(60);
  // Counted over 30 days, whose first day holds nothing (the demo's week is younger), so that no
  // decision leaves the window between the two readings.
  await openWindow(page, 'Last 30 days', 'month');
  await expect(page.getByTestId('chart-bar')).toHaveCount(30);
  const decisions = await figure(page, 'insight-decisions');
  const lastBars = await lastTwoBars(page);
  const denied = await figure(page, 'insight-denied');

  // Two allows and a denial by one of the bank's agents, and a decision in another tenant.
  const bot = await agent(await tenantKey(DEMO.bankAdmin));
  for (const call of [
    { tool: 'get_balance', args: { account: 'acc-1' } },
    { tool: 'get_balance', args: { account: 'acc-2' } },
    { tool: 'payments.transfer', args: { amount: 50000, to: 'acc-2' } },
  ]) {
    expect((await bot.post('/api/v1/decide', { data: { ...call, agent: botName } })).ok()).toBeTruthy();
  }
  await bot.dispose();
  const hospital = await agent(await tenantKey(DEMO.hospitalAdmin));
  expect((await hospital.post('/api/v1/decide', { data: { tool: 'patients.read', args: { id: 'p-1' }, agent: otherBot } })).ok()).toBeTruthy();
  await hospital.dispose();

  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('insight-decisions')).toHaveText(String(decisions + 3));
  expect(await figure(page, 'insight-denied')).toBe(denied + 1);
  // The last bars hold the new decisions, and each bar says its figures to whoever hovers,
  // focuses or reads it.
  expect(await lastTwoBars(page)).toBe(lastBars + 3);
  const last = page.getByTestId('chart-bar').last();
  await expect(last).toHaveAttribute('aria-label', /UTC: [\d,]+ decisions?, [\d,]+ allowed, [\d,]+ awaiting approval, [\d,]+ denied/);
  await last.focus();
  await expect(last.locator('text').last()).toHaveCSS('opacity', '1');
  // The same figures as a table.
  await page.getByText('Show as a table').click();
  const rows = page.getByTestId('chart-table').getByTestId('chart-row');
  await expect(rows.first()).toBeVisible();
  let tabled = 0;
  for (const row of await rows.all()) tabled += Number((await row.locator('td').nth(1).innerText()).replace(/,/g, ''));
  expect(tabled).toBe(decisions + 3);

  // The agent is among the busiest, with its figures; the other tenant's agent is not shown.
  const mine = page.getByTestId('busy-agent').filter({ hasText: botName });
  await expect(mine.getByTestId('busy-agent-decisions')).toHaveText('3');
  await expect(mine.getByTestId('busy-agent-denied')).toHaveText('1');
  await expect(page.getByTestId('busy-agent').filter({ hasText: otherBot })).toHaveCount(0);
  await expect(page.getByText('meridian-bank / ')).toHaveCount(0);
  // The transfer is among the denied tools, with the rule that denied it.
  const transfer = page.getByTestId('denied-tool').filter({ hasText: 'payments.transfer' });
  await expect(transfer).toBeVisible();
  await expect(transfer.getByTestId('denied-by').first()).toContainText('by ');

  // The receipts page counts the same decisions of the agent.
  await openNav(page, 'Receipts', /\/receipts$/);
  await page.locator('#receipts-agent').fill(botName);
  await page.locator('#receipts-agent').press('Enter');
  await arrived(page, /[?&]agent=/);
  const receipts = page.getByTestId('receipt-row');
  await expect(receipts).toHaveCount(3);
  await expect(receipts.getByTestId('verdict').filter({ hasText: 'deny' })).toHaveCount(1);
});

test('the platform dashboard counts every tenant, and its figures match the receipts page', async ({ page }) => {
  const botName = `e2e-dash-platform-${stamp()}`;
  const bot = await agent(await tenantKey(DEMO.hospitalAdmin));
  for (const id of ['p-1', 'p-2']) {
    expect((await bot.post('/api/v1/decide', { data: { tool: 'patients.read', args: { id }, agent: botName } })).ok()).toBeTruthy();
  }
  expect((await bot.post('/api/v1/decide', { data: { tool: 'system.shell', args: { cmd: 'ls' }, agent: botName } })).ok()).toBeTruthy();
  await bot.dispose();

  await signIn(page, DEMO.owner);
  await lastHour(page);
  await expect(page.getByRole('heading', { name: 'Decisions of every tenant' })).toBeVisible();
  const row = page.getByTestId('busy-agent').filter({ hasText: `st-aurelia-health / ${botName}` });
  await expect(row.getByTestId('busy-agent-decisions')).toHaveText('3');
  await expect(row.getByTestId('busy-agent-denied')).toHaveText('1');
  await expect(page.getByTestId('denied-tool').filter({ hasText: 'st-aurelia-health / system.shell' })).toBeVisible();
  // Recent changes name what changed, never by id; rules are named in words, without code quotes.
  const change = page.getByTestId('recent-change').first();
  await expect(change).toBeVisible();
  expect(await change.innerText()).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  expect(await page.getByTestId('denied-by').allInnerTexts()).not.toContainEqual(expect.stringContaining('`'));
  const total = await figure(page, 'insight-decisions');
  let charted = 0;
  for (const bar of await page.getByTestId('chart-bar').all()) charted += Number(await bar.getAttribute('data-total'));
  expect(charted).toBe(total);

  // The receipts page, for every tenant, lists the same decisions of the agent.
  await openNav(page, 'Receipts', /\/receipts$/);
  await page.locator('#receipts-agent').fill(botName);
  await page.locator('#receipts-agent').press('Enter');
  await arrived(page, /[?&]agent=/);
  await expect(page.getByTestId('receipt-row')).toHaveCount(3);
  await expect(page.getByTestId('receipt-row').getByTestId('verdict').filter({ hasText: 'deny' })).toHaveCount(1);

  // Support sees the same dashboard, read-only.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await signIn(page, DEMO.support);
  await lastHour(page);
  await expect(page.getByTestId('busy-agent').filter({ hasText: `st-aurelia-health / ${botName}` }).getByTestId('busy-agent-decisions')).toHaveText('3');
});
