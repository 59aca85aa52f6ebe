import { expect, test } from './fixtures';
import { DEMO, agent, hydrated, navLabels, openNav, signIn, signInWithoutScript, stamp, tenantKey } from './helpers';

test('an approver approves a pending request and the agent sees it approved', async ({ page }) => {
  const bot = await agent(await tenantKey(DEMO.bankAdmin));
  const asked = await bot.post('/api/v1/decide', {
    data: { tool: 'expense.submit', args: { amount: 7200, memo: 'client dinner e2e' }, agent: 'expense-bot', principal: { user: 'u-7' } },
  });
  expect(asked.ok()).toBeTruthy();
  const decision = await asked.json();
  expect(decision.decision).toBe('require_approval');
  expect(decision.approvers).toEqual(['manager']);

  await signIn(page, DEMO.bankManager);
  expect(await navLabels(page)).toContain('Approvals');
  await page.getByTestId('main-nav').getByRole('link', { name: 'Approvals' }).click();
  await expect(page).toHaveURL(/\/approvals$/);
  await hydrated(page);
  const card = page.getByTestId('approval-card').filter({ hasText: 'client dinner e2e' });
  await expect(card).toBeVisible();
  // The reason names the rule that asked for approval.
  await expect(card.getByTestId('approval-reason')).toContainText('tenant policy “Finance controls”');
  await expect(card.getByTestId('approval-reason')).toContainText('expenses over $5,000 need a manager');
  await card.getByLabel('Comment').fill('ok, within the budget');
  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('toast').filter({ hasText: "Approved. The agent's next poll sees it." })).toBeVisible();
  await expect(page.getByTestId('approval-card').filter({ hasText: 'client dinner e2e' })).toHaveCount(0);

  const polled = await (await bot.get(`/api/v1/approvals/${decision.approval_id}`)).json();
  expect(polled.status).toBe('approved');
  expect(polled.resolved_by).toBe(DEMO.bankManager);
  expect(polled.comment).toBe('ok, within the budget');
  await bot.dispose();
});

test('a rejection reaches the agent, and requests for other roles stay in their queue', async ({ page }) => {
  const bot = await agent(await tenantKey(DEMO.bankAdmin));
  const big = await (await bot.post('/api/v1/decide', {
    data: { tool: 'expense.submit', args: { amount: 40000, memo: 'offsite e2e' }, agent: 'expense-bot' },
  })).json();
  expect(big.approvers.sort()).toEqual(['cfo', 'manager']);

  await signIn(page, DEMO.bankManager);
  // Through the navigation, as a person would. Each card is a plain form: the answer reloads the page.
  await page.getByTestId('main-nav').getByRole('link', { name: 'Approvals' }).click();
  await expect(page).toHaveURL(/\/approvals$/);
  const card = page.getByTestId('approval-card').filter({ hasText: 'offsite e2e' });
  await card.getByLabel('Comment').fill('too expensive');
  await card.getByRole('button', { name: 'Reject' }).click();
  await expect(page.getByTestId('toast').filter({ hasText: "Rejected. The agent's next poll sees it." })).toBeVisible();
  await expect(page.getByTestId('approval-card').filter({ hasText: 'offsite e2e' })).toHaveCount(0);

  const polled = await (await bot.get(`/api/v1/approvals/${big.approval_id}`)).json();
  expect(polled.status).toBe('rejected');
  expect(polled.comment).toBe('too expensive');
  await bot.dispose();
});

test('an approver sees who asked and when, the overview counts what waits, and a tenant admin sees every approval', async ({ page }) => {
  const id = stamp();
  const memo = `e2e history ${id}`;
  const user = `u-e2e-${id}`;
  const bot = await agent(await tenantKey(DEMO.bankAdmin));
  const asked = await (await bot.post('/api/v1/decide', {
    data: { tool: 'expense.submit', args: { amount: 6100, memo }, agent: 'expense-bot', principal: { user, roles: ['analyst'] } },
  })).json();
  expect(asked.decision).toBe('require_approval');

  // The approver's overview counts what waits for them and links to it.
  await signIn(page, DEMO.bankManager);
  const waiting = page.getByTestId('stat-waiting-for-you');
  await expect(waiting).toHaveText(/^[1-9][\d,]*$/);
  const before = Number((await waiting.innerText()).replace(/,/g, ''));
  await hydrated(page);
  await waiting.click();
  await expect(page).toHaveURL(/\/approvals$/);

  // The card says who asked, for whom, and when.
  const card = page.getByTestId('approval-card').filter({ hasText: memo });
  await expect(card.getByTestId('approval-for')).toHaveText(`${user} (roles: analyst)`);
  await expect(card.getByTestId('approval-asked')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  await expect(card).toContainText('expense-bot');
  await card.getByLabel('Comment').fill(`fine ${id}`);
  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('toast').filter({ hasText: "Approved. The agent's next poll sees it." })).toBeVisible();
  await page.getByTestId('main-nav').getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByTestId('stat-waiting-for-you')).toHaveText(String(before - 1));

  // The tenant admin sees it among every approval, resolved, with who resolved it.
  await page.context().clearCookies();
  await signIn(page, DEMO.bankAdmin);
  await expect(page.getByTestId('stat-pending-approvals')).toHaveText(/^[\d,]+$/);
  await openNav(page, 'Approvals', /\/approvals$/);
  await expect(page.getByTestId('approval-card')).toHaveCount(0);
  const row = page.getByTestId('approval-row').filter({ hasText: `fine ${id}` });
  await expect(row).toHaveAttribute('data-status', 'approved');
  await expect(row).toContainText(`${user} (roles: analyst)`);
  await expect(row.getByTestId('approval-status')).toContainText(`approved by ${DEMO.bankManager}`);

  // "Pending" filters it out, in the URL, and back brings it again.
  await page.getByTestId('approval-filter').getByRole('link', { name: 'Pending' }).click();
  await expect(page).toHaveURL(/\/approvals\?status=pending$/);
  await expect(page.getByTestId('approval-row').filter({ hasText: `fine ${id}` })).toHaveCount(0);
  for (const status of await page.getByTestId('approval-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')))) {
    expect(status).toBe('pending');
  }
  await page.goBack();
  await expect(page).toHaveURL(/\/approvals$/);
  await expect(page.getByTestId('approval-row').filter({ hasText: `fine ${id}` })).toHaveCount(1);
  await bot.dispose();
});

test('an approver answers in a browser that runs no script', async ({ browser }) => {
  // Each card is a plain form: the server records the answer and sends the page again, without it.
  const id = stamp();
  const bot = await agent(await tenantKey(DEMO.bankAdmin));
  const asked = await (await bot.post('/api/v1/decide', {
    data: { tool: 'expense.submit', args: { amount: 5600, memo: `no script ${id}` }, agent: 'expense-bot' },
  })).json();
  expect(asked.decision).toBe('require_approval');
  const { context, page } = await signInWithoutScript(browser, DEMO.bankManager);
  try {
    await page.goto('/approvals');
    // A second tab with the same queue, answered after the first.
    const other = await context.newPage();
    await other.goto('/approvals');
    const card = page.getByTestId('approval-card').filter({ hasText: `no script ${id}` });
    await card.getByLabel('Comment').fill(`fine without script ${id}`);
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect(page).toHaveURL(/\/approvals$/);
    await expect(page.getByTestId('approval-card').filter({ hasText: `no script ${id}` })).toHaveCount(0);
    await expect(page.getByTestId('toast').filter({ hasText: "Approved. The agent's next poll sees it." })).toBeVisible();
    const polled = await (await bot.get(`/api/v1/approvals/${asked.approval_id}`)).json();
    expect([polled.status, polled.comment]).toEqual(['approved', `fine without script ${id}`]);

    // Answered again from the other tab: refused, and said so.
    await other.getByTestId('approval-card').filter({ hasText: `no script ${id}` }).getByRole('button', { name: 'Reject' }).click();
    await expect(other.getByTestId('form-error')).toContainText('Not resolved:');
    expect((await (await bot.get(`/api/v1/approvals/${asked.approval_id}`)).json()).status).toBe('approved');
  } finally {
    await bot.dispose();
    await context.close();
  }
});
