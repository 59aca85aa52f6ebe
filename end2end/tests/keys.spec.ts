import { expect, expectConsoleError, test } from './fixtures';
import { DEMO, agent, apiSession, hydrated, openNav, signIn, signInWithoutScript, stamp } from './helpers';

test('a tenant admin creates a key, copies its secret shown once, sees its last use, and revokes it after confirming', async ({ page }) => {
  const id = stamp();
  const name = `e2e key ${id}`;
  const bot = `e2e-keys-${id}`;
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'API keys', /\/keys$/);
  await expect(page.getByRole('heading', { name: 'API keys' })).toBeVisible();

  await page.locator('#key-name').fill(name);
  await page.locator('#key-agents').fill(bot);
  // An agent's key asks for decisions; this one may read policies too.
  await expect(page.getByLabel('Ask for decisions and call tools through the gateway')).toBeChecked();
  await expect(page.getByLabel('Write policies', { exact: true })).not.toBeChecked();
  await page.getByLabel('Read policies', { exact: true }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByTestId('new-key');
  await expect(shown).toContainText('shown only this once');
  const secret = (await page.getByTestId('new-key-secret').innerText()).trim();
  expect(secret).toMatch(/^chk_[a-z0-9]{10}_[0-9a-f]{64}$/);
  const prefix = secret.split('_').slice(0, 2).join('_');

  // Copy puts the whole key on the clipboard, and says so beside the button.
  await shown.getByRole('button', { name: 'Copy' }).click();
  await expect(shown.getByTestId('copy-result')).toHaveText('Copied to the clipboard.');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  // Once dismissed, the page loads again: the secret is nowhere on it, nor after a reload.
  await shown.getByRole('button', { name: 'Done' }).click();
  await expect(shown).toHaveCount(0);
  await hydrated(page);
  expect(await page.content()).not.toContain(secret.split('_')[2]);

  // The list shows the key by its prefix, bound to its agent, never used.
  const row = page.getByTestId('key-row').filter({ hasText: name });
  await expect(row).toHaveAttribute('data-prefix', prefix);
  await expect(row).toContainText(`${prefix}…`);
  await expect(row).toContainText(bot);
  await expect(row.getByTestId('key-last-used')).toHaveText('never');
  await expect(row.getByTestId('key-scopes')).toHaveText('decide, policies:read');
  await page.reload();
  await hydrated(page);
  expect(await page.content()).not.toContain(secret.split('_')[2]);

  // The key works; its last use shows.
  const client = await agent(secret);
  const decided = await client.post('/api/v1/decide', { data: { tool: 'docs.read', agent: bot } });
  expect(decided.status(), await decided.text()).toBe(200);
  // It reads policies, and may not change them.
  expect((await client.get('/api/v1/policies')).status()).toBe(200);
  const write = await client.post('/api/v1/policies', { data: { name: `e2e refused ${id}`, scope: 'tenant', rules: [{ tool: 'docs.read', effect: 'allow' }] } });
  expect(write.status()).toBe(403);
  expect(await write.text()).toContain('policies:write');
  await page.reload();
  await hydrated(page);
  await expect(row.getByTestId('key-last-used')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);

  // Revoking asks first; Cancel keeps the key.
  await row.getByRole('button', { name: 'Revoke' }).click();
  const dialog = page.getByRole('dialog', { name: `Revoke ${name}?` });
  await expect(dialog).toContainText(`${prefix}…`);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  expect((await client.post('/api/v1/decide', { data: { tool: 'docs.read', agent: bot } })).status()).toBe(200);

  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog', { name: `Revoke ${name}?` }).getByRole('button', { name: 'Revoke key' }).click();
  await expect(page.getByTestId('toast').filter({ hasText: `Revoked ${name} (${prefix})` })).toBeVisible();
  await expect(row.getByTestId('key-status')).toHaveText(/^Revoked \d{4}-\d{2}-\d{2}$/);
  await expect(row.getByRole('button', { name: 'Revoke' })).toHaveCount(0);
  expect((await client.post('/api/v1/decide', { data: { tool: 'docs.read', agent: bot } })).status()).toBe(401);
  await client.dispose();
});

test('a bad key name is refused with the field named, and nothing is created', async ({ page }) => {
  expectConsoleError(page, /422/);
  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'API keys', /\/keys$/);
  const before = await page.getByTestId('key-row').count();
  await page.locator('#key-name').fill('x'.repeat(101));
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Key not created: name must be 1-100 characters' })).toBeVisible();
  await expect(page.getByTestId('new-key')).toHaveCount(0);
  await expect(page.getByTestId('key-row')).toHaveCount(before);
});

test('another tenant never sees the key, and naming its tenant is not found', async ({ page }) => {
  const name = `e2e bank-only key ${stamp()}`;
  const bank = await apiSession(DEMO.bankAdmin);
  expect((await bank.post('/api/v1/keys', { data: { name } })).status()).toBe(201);
  await bank.dispose();

  await signIn(page, DEMO.hospitalAdmin);
  await openNav(page, 'API keys', /\/keys$/);
  await expect(page.getByRole('heading', { name: 'API keys' })).toBeVisible();
  await expect(page.getByText(name)).toHaveCount(0);
  expectConsoleError(page, /404/);
  await page.goto('/keys?tenant=meridian-bank');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByText(name)).toHaveCount(0);
});

test('a platform admin picks any tenant, the choice is in the URL, and support sees keys read-only', async ({ page }) => {
  const name = `e2e platform-seen key ${stamp()}`;
  const hospital = await apiSession(DEMO.hospitalAdmin);
  expect((await hospital.post('/api/v1/keys', { data: { name } })).status()).toBe(201);
  await hospital.dispose();

  await signIn(page, DEMO.owner);
  await openNav(page, 'API keys', /\/keys$/);
  await expect(page.getByText('Choose a tenant to see its keys.')).toBeVisible();
  await page.locator('#keys-tenant').selectOption({ label: 'St. Aurelia Health' });
  await expect(page).toHaveURL(/\/keys\?tenant=st-aurelia-health$/);
  await expect(page.getByTestId('key-row').filter({ hasText: name })).toHaveCount(1);
  await expect(page.getByRole('button', { name: 'Create key' })).toBeVisible();

  // Back and forward keep the choice with the address.
  await page.goBack();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByText('Choose a tenant to see its keys.')).toBeVisible();
  await page.goForward();
  await expect(page).toHaveURL(/\/keys\?tenant=st-aurelia-health$/);
  await expect(page.getByTestId('key-row').filter({ hasText: name })).toHaveCount(1);
  await expect(page.locator('#keys-tenant')).toHaveValue('st-aurelia-health');

  await page.context().clearCookies();
  await signIn(page, DEMO.support);
  await page.goto('/keys?tenant=st-aurelia-health');
  await hydrated(page);
  const row = page.getByTestId('key-row').filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('key-status')).toHaveText('Active');
  await expect(page.getByRole('button', { name: 'Revoke' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Create key' })).toHaveCount(0);
});

test('a key is revoked in a browser that runs no script, after the browser\'s own popover asks', async ({ browser }) => {
  const id = stamp();
  const admin = await apiSession(DEMO.bankAdmin);
  const created = await (await admin.post('/api/v1/keys', { data: { name: `no script ${id}` } })).json();
  const client = await agent(created.secret);
  const { context, page } = await signInWithoutScript(browser, DEMO.bankAdmin);
  try {
    await page.goto('/keys');
    const row = page.getByTestId('key-row').filter({ hasText: `no script ${id}` });
    await row.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke no script ${id}?` });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await expect(page).toHaveURL(/\/keys$/);
    await expect(row.getByTestId('key-status')).toHaveText(/^Revoked \d{4}-\d{2}-\d{2}$/);
    await expect(page.getByTestId('toast').filter({ hasText: `Revoked no script ${id}` })).toBeVisible();
    expect((await client.post('/api/v1/decide', { data: { tool: 'docs.read', agent: 'any-bot' } })).status()).toBe(401);
  } finally {
    await client.dispose();
    await admin.dispose();
    await context.close();
  }
});
