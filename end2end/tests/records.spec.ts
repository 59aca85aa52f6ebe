import { expect, test } from './fixtures';
import { DEMO, agent, apiSession, hydrated, openNav, signIn, stamp, tenantKey, arrived } from './helpers';

test('a tenant admin finds the receipts of their agents’ decisions, filters them and opens one', async ({ page }) => {
  const botName = `e2e-records-${stamp()}`;
  const bot = await agent(await tenantKey(DEMO.bankAdmin));
  const allowed = await (await bot.post('/api/v1/decide', { data: { tool: 'get_balance', args: { account: 'acc-1' }, agent: botName } })).json();
  expect(allowed.decision).toBe('allow');
  const denied = await (await bot.post('/api/v1/decide', { data: { tool: 'payments.transfer', args: { amount: 50000, to: 'acc-2' }, agent: botName } })).json();
  expect(denied.decision).toBe('deny');
  await bot.dispose();

  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'Receipts', /\/receipts$/);
  const rows = page.getByTestId('receipt-row');
  const mine = rows.filter({ hasText: `agent ${botName}` });
  await expect(mine).toHaveCount(2);
  await expect(mine.filter({ hasText: 'get_balance' }).getByTestId('verdict')).toHaveText('allow');
  await expect(mine.filter({ hasText: 'payments.transfer' }).getByTestId('verdict')).toHaveText('deny');
  // A tenant admin has no tenant to choose.
  await expect(page.locator('#receipts-tenant')).toHaveCount(0);

  // Only denials.
  await page.locator('#receipts-verdict').selectOption('deny');
  await arrived(page, /\/receipts\?verdict=deny$/);
  await expect(mine).toHaveCount(1);
  await expect(mine).toContainText('payments.transfer');
  for (const verdict of await rows.getByTestId('verdict').allInnerTexts()) expect(verdict).toBe('deny');

  // Only this agent's, then the detail of the denial.
  await page.locator('#receipts-agent').fill(botName);
  await page.locator('#receipts-agent').press('Enter');
  await arrived(page, /[?&]agent=/);
  await expect(rows).toHaveCount(1);
  await rows.locator('summary').click();
  await expect(rows.locator('details')).toHaveAttribute('open', '');
  const detail = rows.getByTestId('receipt-detail');
  await expect(detail).toBeVisible();
  await expect(detail).toContainText(denied.receipt_id);
  await expect(detail).toContainText('"amount": 50000');
  await expect(detail).toContainText('"to": "acc-2"');
  // The engine's reason, as a sentence: its code quotes become quotation marks.
  await expect(detail).toContainText(denied.reason.replace(/`([^`]*)`/g, '“$1”'));
  await expect(detail).not.toContainText('`');
  await expect(detail).toContainText('10000');
  await expect(detail.getByRole('listitem').filter({ hasText: 'Finance controls' }).first()).toBeVisible();
  // Policy versions by name, linked, never by id; the rule that capped it says so.
  const versions = detail.getByTestId('receipt-policy-versions');
  await expect(versions.getByRole('link', { name: /^Finance controls v\d+$/ })).toHaveAttribute('href', /^\/policies\/[0-9a-f-]{36}$/);
  expect(await versions.innerText()).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  await expect(detail).toContainText('its cap decided: the call is over it');
  // It closes again.
  await rows.locator('summary').click();
  await expect(detail).toBeHidden();
});

test('a masked argument is shown masked in the receipts, to the tenant and to support', async ({ page }) => {
  const botName = `e2e-masked-${stamp()}`;
  const secret = `suspected tuberculosis ${stamp()}`;
  const bot = await agent(await tenantKey(DEMO.hospitalAdmin));
  // The hospital's demo policy masks `args.notes` of every patient tool.
  const read = await (await bot.post('/api/v1/decide', { data: { tool: 'patients.read', args: { id: 'p-7', notes: secret }, agent: botName } })).json();
  expect(read.decision).toBe('allow');
  expect(read.obligations.map((o: { field: string }) => o.field)).toContain('args.notes');
  await bot.dispose();

  for (const who of [DEMO.hospitalAdmin, DEMO.support]) {
    await signIn(page, who);
    await openNav(page, 'Receipts', /\/receipts$/);
    const row = page.getByTestId('receipt-row').filter({ hasText: `agent ${botName}` });
    await expect(row).toHaveCount(1);
    await row.locator('summary').click();
    const detail = row.getByTestId('receipt-detail');
    await expect(detail).toContainText('"notes": "[masked]"');
    await expect(detail).toContainText('"id": "p-7"');
    await expect(page.getByText(secret)).toHaveCount(0);
    expect(await page.content()).not.toContain(secret);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
  }
});

test('the audit log shows a tenant admin’s policy edit as a diff, and the owner can narrow it to the platform', async ({ page }) => {
  const id = stamp();
  const name = `E2E audited ${id}`;
  const admin = await apiSession(DEMO.bankAdmin);
  const created = await admin.post('/api/v1/policies', {
    data: { name, scope: 'agent', agent: `e2e-audit-${id}`, rules: [{ tool: 'payments.refund', effect: 'deny', reason: 'refunds go through a person' }] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const policy = await created.json();
  const owner = await apiSession(DEMO.owner);
  let platformId = '';
  try {
    // The tenant admin changes the rule's reason through the API, as their tooling would.
    const document = { ...policy.document, rules: [{ tool: 'payments.refund', effect: 'deny', reason: 'refunds need a second person' }] };
    const updated = await admin.put(`/api/v1/policies/${policy.id}`, { data: document, headers: { 'If-Match': String(policy.version) } });
    expect(updated.status(), await updated.text()).toBe(200);
    expect((await updated.json()).version).toBe(2);

    await signIn(page, DEMO.bankAdmin);
    await openNav(page, 'Audit log', /\/audit$/);
    await expect(page.locator('#audit-scope')).toHaveCount(0);
    const entries = page.getByTestId('audit-row').filter({ has: page.locator(`a[href="/policies/${policy.id}"]`) });
    await expect(entries).toHaveCount(2);
    const update = entries.filter({ has: page.getByTestId('audit-action').filter({ hasText: /^policy\.update$/ }) });
    await expect(update.getByTestId('audit-actor')).toHaveText(`by ${DEMO.bankAdmin} (tenant user)`);
    await update.locator('summary').click();
    const diff = update.getByTestId('audit-diff');
    await expect(diff.locator('span').filter({ hasText: /^- .*refunds go through a person/ }).first()).toBeVisible();
    await expect(diff.locator('span').filter({ hasText: /^\+ .*refunds need a second person/ }).first()).toBeVisible();
    await expect(diff.locator('span').filter({ hasText: /^- .*"version": 1/ }).first()).toBeVisible();
    await expect(diff.locator('span').filter({ hasText: /^\+ .*"version": 2/ }).first()).toBeVisible();
    // The entry names the policy and its version, and shows no id anywhere, the diff included.
    await expect(update.getByTestId('audit-target')).toHaveText(`policy “${name}” v2`);
    for (const text of await page.getByTestId('audit-row').allInnerTexts()) {
      expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    }
    // Its link opens the policy.
    await update.getByTestId('audit-target-link').click();
    await expect(page).toHaveURL(new RegExp(`/policies/${policy.id}$`));
    await expect(page.getByRole('heading', { name })).toBeVisible();
    await page.goBack();
    await expect(page).toHaveURL(/\/audit$/);

    // The action filter keeps policy changes only.
    await hydrated(page);
    await page.locator('#audit-action').selectOption({ label: 'Policies' });
    await arrived(page, /\/audit\?action=policy\.$/);
    await expect(update).toHaveCount(1);
    for (const action of await page.getByTestId('audit-action').allInnerTexts()) expect(action).toMatch(/^policy\./);

    // The owner: a platform change of their own, then "Platform only" hides the tenants' changes.
    const platform = await owner.post('/api/v1/platform/policies', {
      data: { name: `E2E platform audit ${id}`, scope: 'platform', rules: [{ tool: `e2e${id}.nothing`, effect: 'deny' }] },
    });
    expect(platform.status(), await platform.text()).toBe(201);
    platformId = (await platform.json()).id;

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await signIn(page, DEMO.owner);
    await openNav(page, 'Audit log', /\/audit$/);
    const tenantEntry = page.getByTestId('audit-row').filter({ has: page.locator(`a[href="/policies/${policy.id}"]`) }).first();
    const platformEntry = page.getByTestId('audit-row').filter({ has: page.locator(`a[href="/policies/${platformId}"]`) });
    await expect(tenantEntry).toContainText('First Meridian Bank');
    await expect(platformEntry).toContainText('by owner@charter.example (platform staff)');
    await page.getByRole('combobox', { name: 'Whose changes' }).selectOption({ label: 'Platform only' });
    await arrived(page, /\/audit\?scope=platform$/);
    await expect(tenantEntry).toHaveCount(0);
    await expect(platformEntry).toHaveCount(1);
    await expect(platformEntry).toContainText('Platform');
    for (const text of await page.getByTestId('audit-row').allInnerTexts()) {
      expect(text).not.toMatch(/First Meridian Bank|Rocketlane Labs|St\. Aurelia Health/);
    }
    await page.getByRole('combobox', { name: 'Whose changes' }).selectOption({ label: 'First Meridian Bank' });
    await arrived(page, /\/audit\?scope=meridian-bank$/);
    await expect(platformEntry).toHaveCount(0);
    await expect(tenantEntry).toBeVisible();
  } finally {
    await admin.delete(`/api/v1/policies/${policy.id}`);
    if (platformId) await owner.delete(`/api/v1/platform/policies/${platformId}`);
    await admin.dispose();
    await owner.dispose();
  }
});
