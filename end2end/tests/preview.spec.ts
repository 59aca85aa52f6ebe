import { APIRequestContext, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { DEMO, agent, apiSession, loadsPage, openNav, signIn, stamp, tenantKey } from './helpers';

/** The newest receipts of a tenant, as platform staff read them through the API. */
async function receiptIds(api: APIRequestContext, slug: string): Promise<string[]> {
  const response = await api.get(`/api/v1/tenants/${slug}/receipts`, { params: { limit: 500 } });
  expect(response.ok(), await response.text()).toBeTruthy();
  return ((await response.json()).receipts as { id: string }[]).map((r) => r.id);
}

/** Asks the what-if form, a GET form: the answer comes with the page it loads. */
async function whatIf(page: Page, tool: string, args: string): Promise<void> {
  await page.locator('#whatif-tool').fill(tool);
  await page.locator('#whatif-args').fill(args);
  await loadsPage(page, () => page.getByRole('button', { name: 'Evaluate' }).click());
  await expect(page).toHaveURL(new RegExp(`[?&]tool=${encodeURIComponent(tool).replace(/\./g, '\\.')}&`));
}

test('the owner previews an agent’s merged policy and asks what-if questions without recording anything', async ({ page }) => {
  const owner = await apiSession(DEMO.owner);
  const before = await receiptIds(owner, 'meridian-bank');

  await signIn(page, DEMO.owner);
  await openNav(page, 'Previewer', /\/preview$/);
  await expect(page.getByRole('heading', { name: 'Effective-policy previewer' })).toBeVisible();
  await page.getByRole('combobox', { name: 'Tenant' }).selectOption({ label: 'First Meridian Bank' });
  await expect(page).toHaveURL(/\/preview\?tenant=meridian-bank$/);
  await page.locator('#preview-agent').fill('support-bot');
  await page.locator('#preview-agent').press('Tab');
  // The choice is in the address, so a link or a reload shows the same preview.
  await expect(page).toHaveURL(/\/preview\?tenant=meridian-bank&agent=support-bot$/);

  // Rules from all three scopes, each with the scope it came from.
  const rules = page.getByTestId('effective-rule');
  const agentRule = rules.filter({ hasText: 'Support bot' });
  await expect(agentRule).toHaveCount(1);
  await expect(agentRule.getByTestId('scope-badge')).toHaveText('agent');
  await expect(agentRule).toContainText('payments.*');
  await expect(agentRule).toContainText('the support bot never moves money');
  const shell = rules.filter({ hasText: 'no-shell' });
  await expect(shell.getByTestId('scope-badge')).toHaveText('platform');
  await expect(shell).toContainText('Platform guardrails');
  const bigExpenses = rules.filter({ hasText: 'expenses-over-25k' });
  await expect(bigExpenses.getByTestId('scope-badge')).toHaveText('tenant');
  await expect(bigExpenses).toContainText('approvers manager, cfo');
  for (const scope of ['platform', 'tenant', 'agent']) {
    await expect(rules.getByTestId('scope-badge').filter({ hasText: new RegExp(`^${scope}$`) }).first()).toBeVisible();
  }

  // The amount caps: the platform's ceiling, and the tenant's lower cap in force.
  const limits = page.getByTestId('effective-limit').filter({ hasText: 'args.amount' });
  const platformCap = limits.filter({ hasText: 'args.amount ≤ 100,000' });
  await expect(platformCap.first()).toBeVisible();
  await expect(platformCap.first()).toContainText('payments.*');
  await expect(platformCap.first().locator('td').nth(1).getByTestId('scope-badge')).toHaveText('platform');
  await expect(platformCap.first().locator('td').nth(2)).toContainText('args.amount ≤ 10,000');
  await expect(platformCap.first().locator('td').nth(2).getByTestId('scope-badge')).toHaveText('tenant');

  // What if the support bot moved $500? Denied, by its own agent rule.
  await whatIf(page, 'payments.transfer', '{"amount": 500}');
  const result = page.getByTestId('whatif-result');
  await expect(result.getByTestId('verdict')).toHaveText('deny');
  await expect(result.getByTestId('whatif-reason')).toContainText('Support bot');
  await expect(result.getByTestId('whatif-reason')).toContainText('the support bot never moves money');
  await expect(result.getByTestId('whatif-matched')).toContainText('Support bot');

  // What if it filed a $7,200 expense? A manager must approve; the rule for bigger ones just missed.
  await whatIf(page, 'expense.submit', '{"amount": 7200}');
  await expect(result.getByTestId('verdict')).toHaveText('require_approval');
  await expect(result.getByTestId('whatif-reason')).toContainText('expenses over $5,000 need a manager');
  await expect(result).toContainText('Approvers: manager');
  await expect(result.getByTestId('whatif-near-misses')).toContainText('expenses-over-25k');

  // A dry run: no receipt was written.
  expect(await receiptIds(owner, 'meridian-bank')).toEqual(before);
  await owner.dispose();
});

test('a what-if with arguments that are not JSON says so, and keeps the question to fix', async ({ page }) => {
  await signIn(page, DEMO.owner);
  await openNav(page, 'Previewer', /\/preview$/);
  await expect(page.getByTestId('effective-rule').first()).toBeVisible();
  await whatIf(page, 'expense.submit', '{amount: 7200');
  await expect(page.getByRole('alert').filter({ hasText: 'not valid JSON' })).toBeVisible();
  await expect(page.locator('#whatif-tool')).toHaveValue('expense.submit');
  await expect(page.locator('#whatif-args')).toHaveValue('{amount: 7200');
});

test('a tenant admin previews their own tenant, with no tenant to choose', async ({ page }) => {
  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'Previewer', /\/preview$/);
  const rules = page.getByTestId('effective-rule');
  await expect(rules.filter({ hasText: 'Finance controls' }).first()).toBeVisible();
  await expect(page.locator('#preview-tenant')).toHaveCount(0);
  await expect(page.getByRole('combobox', { name: 'Tenant' })).toHaveCount(0);
  // Without an agent, agent rules do not apply.
  await expect(rules.filter({ hasText: 'Support bot' })).toHaveCount(0);
  await whatIf(page, 'get_balance', '{"account": "acc-1"}');
  await expect(page.getByTestId('whatif-result').getByTestId('verdict')).toHaveText('allow');
  await expect(page.getByTestId('whatif-reason')).toContainText('read-only lookups are fine');
});

test('the previewer shows an agent’s budget and session rule with their scope, and the what-if says what is spent and left', async ({ page }) => {
  const id = stamp();
  const bot = `e2e-budget-${id}`;
  const admin = await apiSession(DEMO.bankAdmin);
  const created = await admin.post('/api/v1/policies', {
    data: { name: `E2E budget ${id}`, scope: 'agent', agent: bot, rules: [
      { tool: 'payments.transfer', budget: { sum: 'args.amount', max: 1000, per: '1d', per_key: 'agent' } },
      { tool: 'payments.transfer', when: { 'session.called': 'payments.quote' }, effect: 'require_approval', approvers: ['manager'], reason: `e2e ${id}: a quoted payment needs a manager` },
    ] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const policyId = (await created.json()).id as string;
  const caller = await agent(await tenantKey(DEMO.bankAdmin));
  try {
    // The bot spends 600 of its 1000 today (the bank's own rules decide the verdict).
    const decided = await caller.post('/api/v1/decide', { data: { tool: 'payments.transfer', agent: bot, args: { amount: 600 } } });
    expect(decided.ok(), await decided.text()).toBeTruthy();
    const budget = ((await decided.json()).limits as { kind: string; max: number }[]).find((l) => l.kind === 'budget' && l.max === 1000);
    expect(budget, 'the decision lists the agent budget').toBeTruthy();

    await signIn(page, DEMO.bankAdmin);
    await openNav(page, 'Previewer', /\/preview$/);
    await page.locator('#preview-agent').fill(bot);
    await page.locator('#preview-agent').press('Tab');
    const row = page.getByTestId('effective-limit').filter({ hasText: 'args.amount adding up to 1,000 per 1d per agent' });
    await expect(row).toHaveCount(1);
    await expect(row.locator('td').nth(1).getByTestId('scope-badge')).toHaveText('agent');
    const ownRules = page.getByTestId('effective-rule').filter({ hasText: `E2E budget ${id}` });
    await expect(ownRules.filter({ hasText: 'budget args.amount adding up to 1,000 per 1d per agent' })).toHaveCount(1);
    // A session rule reads as words, with the scope it came from.
    const sessionRule = ownRules.filter({ hasText: 'when the session has called “payments.quote”' });
    await expect(sessionRule).toHaveCount(1);
    await expect(sessionRule.getByTestId('scope-badge')).toHaveText('agent');

    // The what-if reads the day's total without spending from it.
    await whatIf(page, 'payments.transfer', '{"amount": 300}');
    const limits = page.getByTestId('whatif-limits');
    await expect(limits).toContainText('args.amount adding up to 1,000 per 1d per agent (600 spent so far, 400 left; this call 300)');
    await whatIf(page, 'payments.transfer', '{"amount": 300}');
    await expect(limits).toContainText('(600 spent so far, 400 left; this call 300)');
  } finally {
    await admin.delete(`/api/v1/policies/${policyId}`);
    await admin.dispose();
    await caller.dispose();
  }
});

test('the what-if says how the rules combined, names what decided, and lists each cap once', async ({ page }) => {
  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'Previewer', /\/preview$/);
  const result = page.getByTestId('whatif-result');

  // A transfer over the cap: the allow rule that carries the cap is not "decisive" as an allow.
  await whatIf(page, 'payments.transfer', '{"amount": 30000}');
  await expect(result.getByTestId('verdict')).toHaveText('deny');
  await expect(result.getByTestId('whatif-combination')).toContainText('Caps take the lowest value across scopes');
  const matched = result.getByTestId('whatif-matched');
  await expect(matched).toContainText('allow · its cap decided: the call is over it');
  await expect(matched).not.toContainText(/allow · decisive/);
  const limits = await result.getByTestId('whatif-limits').locator('li').allInnerTexts();
  expect(limits.length).toBeGreaterThan(0);
  expect(new Set(limits).size, `each cap once: ${limits.join(' | ')}`).toBe(limits.length);

  // A large expense: why approval wins, and that every named role must approve.
  await whatIf(page, 'expense.submit', '{"amount": 40000}');
  await expect(result.getByTestId('verdict')).toHaveText('require_approval');
  const combination = result.getByTestId('whatif-combination');
  await expect(combination).toContainText('the more restrictive vote wins: require approval over allow.');
  await expect(combination).toContainText(/Every named role must approve: (manager and cfo|cfo and manager)\./);
});
