import { APIRequestContext } from '@playwright/test';
import { expect, expectConsoleError, test } from './fixtures';
import { DEMO, agent, openNav, signIn, stamp, tenantKey } from './helpers';

async function decide(bot: APIRequestContext, tool: string): Promise<{ decision: string; reason: string }> {
  const response = await bot.post('/api/v1/decide', { data: { tool, args: {}, agent: 'e2e-tools-bot' } });
  expect(response.ok(), await response.text()).toBeTruthy();
  return response.json();
}

test('the owner imports an OpenAPI source and switches one of its tools off and on again', async ({ page }) => {
  const id = stamp();
  const sourceName = `E2E source ${id}`;
  const tools = [`e2e${id}.read`, `e2e${id}.write`, `e2e${id}.remove`];
  const document = [
    'openapi: 3.0.3',
    'info:',
    `  title: E2E API ${id}`,
    '  version: "1"',
    'paths:',
    `  /e2e/${id}/items:`,
    '    get:',
    `      operationId: ${tools[0]}`,
    '      summary: Read the e2e items',
    '    post:',
    `      operationId: ${tools[1]}`,
    '      summary: Write an e2e item',
    `  /e2e/${id}/items/{id}:`,
    '    delete:',
    `      operationId: ${tools[2]}`,
    '      summary: Remove an e2e item',
    '',
  ].join('\n');
  // Rocketlane allows "*": whatever the platform enables, its agents may call.
  const bot = await agent(await tenantKey(DEMO.startupAdmin));

  await signIn(page, DEMO.owner);
  await openNav(page, 'Tools & Sources', /\/tools$/);
  await page.locator('#source-name').fill(sourceName);
  await page.locator('#source-document').fill(document);
  await page.getByRole('button', { name: 'Import tools' }).click();
  await expect(page.getByTestId('toast').filter({ hasText: `Added ${sourceName} with 3 tools.` })).toBeVisible();

  const card = page.getByTestId('source-card').filter({ hasText: sourceName });
  await expect(card.getByTestId('source-count')).toHaveText('3 of 3 enabled');
  await expect(card).toContainText('OpenAPI 3');
  const row = card.getByTestId('tool-row').filter({ hasText: tools[1] });
  await expect(row).toContainText('POST');
  await expect(row).toContainText(`/e2e/${id}/items`);
  await expect(row).toContainText('Write an e2e item');
  expect((await decide(bot, tools[1])).decision).toBe('allow');

  try {
    // Off asks first, naming the tenants that called the tool this week and how often.
    const toggle = card.getByRole('switch', { name: `Enable ${tools[1]}` });
    await expect(toggle).toHaveAttribute('aria-checked', 'true');
    await toggle.click();
    const ask = page.getByRole('dialog', { name: `Switch ${tools[1]} off?` });
    await expect(ask).toContainText('Every tenant');
    const impact = ask.getByTestId('tool-impact-row').filter({ hasText: 'Rocketlane Labs' });
    await expect(impact).toHaveCount(1);
    await expect(impact.locator('td').nth(1)).toHaveText('1');
    await expect(ask.getByTestId('tool-impact-summary')).toHaveText('Called 1 time in the last 7 days by 1 tenant:');
    // Cancel changes nothing.
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await expect(ask).toHaveCount(0);
    await expect(toggle).toHaveAttribute('aria-checked', 'true');
    expect((await decide(bot, tools[1])).decision).toBe('allow');
    // A tool nobody called says so.
    await card.getByRole('switch', { name: `Enable ${tools[2]}` }).click();
    const quiet = page.getByRole('dialog', { name: `Switch ${tools[2]} off?` });
    await expect(quiet.getByTestId('tool-impact-none')).toHaveText('No tenant called it in the last 7 days.');
    await quiet.getByRole('button', { name: 'Cancel' }).click();
    await expect(card.getByRole('switch', { name: `Enable ${tools[2]}` })).toHaveAttribute('aria-checked', 'true');

    // Off, confirmed: the source counts it, and the very next decision denies it.
    await toggle.click();
    const confirm = page.getByRole('dialog', { name: `Switch ${tools[1]} off?` });
    await expect(confirm.getByTestId('tool-impact-row').filter({ hasText: 'Rocketlane Labs' }).locator('td').nth(1)).toHaveText('2');
    await confirm.getByRole('button', { name: 'Switch off' }).click();
    await expect(page.getByTestId('toast').filter({ hasText: `${tools[1]} is now disabled.` })).toBeVisible();
    await expect(card.getByTestId('source-count')).toHaveText('2 of 3 enabled');
    await expect(card.getByRole('switch', { name: `Enable ${tools[1]}` })).toHaveAttribute('aria-checked', 'false');
    const denied = await decide(bot, tools[1]);
    expect(denied.decision).toBe('deny');
    expect(denied.reason).toContain('not enabled');
    expect((await decide(bot, tools[0])).decision).toBe('allow');

    // On again: allowed again.
    await card.getByRole('switch', { name: `Enable ${tools[1]}` }).click();
    await expect(page.getByTestId('toast').filter({ hasText: `${tools[1]} is now enabled.` })).toBeVisible();
    await expect(card.getByTestId('source-count')).toHaveText('3 of 3 enabled');
    expect((await decide(bot, tools[1])).decision).toBe('allow');

    // Exposed to one tenant only: Rocketlane's agents are denied it; back to every tenant, allowed.
    const readRow = card.getByTestId('tool-row').filter({ hasText: tools[0] });
    await expect(readRow.getByTestId('tool-exposure')).toHaveText('every tenant');
    await readRow.getByRole('button', { name: `Choose who gets ${tools[0]}` }).click();
    const who = page.getByRole('dialog', { name: `Who gets ${tools[0]}?` });
    await who.getByRole('radio', { name: 'Only the tenants and plans chosen here' }).check();
    await who.getByRole('checkbox', { name: 'First Meridian Bank' }).check();
    await who.getByLabel('Plans (every tenant on them; separate with commas)').fill('healthcare');
    await who.getByRole('button', { name: 'Save' }).click();
    await expect(who).toHaveCount(0);
    await expect(readRow.getByTestId('tool-exposure')).toHaveText('First Meridian Bank, plan healthcare');
    const hidden = await decide(bot, tools[0]);
    expect(hidden.decision).toBe('deny');
    expect(hidden.reason).toContain('not enabled for this tenant');
    await readRow.getByRole('button', { name: `Choose who gets ${tools[0]}` }).click();
    await who.getByRole('radio', { name: 'Every tenant' }).check();
    await who.getByRole('button', { name: 'Save' }).click();
    await expect(readRow.getByTestId('tool-exposure')).toHaveText('every tenant');
    expect((await decide(bot, tools[0])).decision).toBe('allow');
  } finally {
    // Leave the catalog as it was: remove the source, after a confirmation.
    await card.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.getByRole('dialog', { name: `Remove ${sourceName}?` }).getByRole('button', { name: 'Remove source' }).click();
    await expect(page.getByTestId('toast').filter({ hasText: 'Source removed.' })).toBeVisible();
    await expect(page.getByTestId('source-card').filter({ hasText: sourceName })).toHaveCount(0);
  }
  const gone = await decide(bot, tools[1]);
  expect(gone.decision).toBe('deny');
  await bot.dispose();
});

test('a document that is not OpenAPI 3 or MCP is refused with a clear error', async ({ page }) => {
  expectConsoleError(page, /status of 422 .*\/api\/tools\/add_source/);
  const sourceName = `E2E bad source ${stamp()}`;
  await signIn(page, DEMO.owner);
  await openNav(page, 'Tools & Sources', /\/tools$/);
  await expect(page.getByTestId('source-card').first()).toBeVisible();
  const cards = await page.getByTestId('source-card').count();
  await page.locator('#source-name').fill(sourceName);
  await page.locator('#source-document').fill('swagger: "2.0"\ninfo:\n  title: Old API\n  version: "1"\npaths: {}\n');
  await page.getByRole('button', { name: 'Import tools' }).click();
  // The form says so, where the document was typed, and keeps the document to be corrected.
  const form = page.locator('form').filter({ has: page.locator('#source-document') });
  const error = form.getByRole('alert');
  await expect(error).toContainText('Source not added: ');
  await expect(error).toContainText('swagger 2.0 documents are not supported; convert to OpenAPI 3');
  await expect(page.locator('#source-document')).toHaveValue(/^swagger: "2\.0"/);
  await expect(page.getByTestId('source-card').filter({ hasText: sourceName })).toHaveCount(0);
  await expect(page.getByTestId('source-card')).toHaveCount(cards);
});

test('a tenant admin switches a tool off for their tenant and on again; Charter’s own tools are there too', async ({ page }) => {
  const bot = await agent(await tenantKey(DEMO.bankAdmin));
  try {
    await signIn(page, DEMO.bankAdmin);
    await openNav(page, 'Tools', /\/tools$/);
    await expect(page.getByRole('heading', { name: 'Tools', exact: true })).toBeVisible();
    const rows = page.getByTestId('tool-row');
    await expect(rows.filter({ hasText: 'expense.submit' })).toHaveCount(1);
    await expect(rows.filter({ hasText: 'system.exec' })).toHaveCount(0);
    await expect(rows.filter({ hasText: 'charter.create_policy' })).toHaveCount(1);
    await expect(page.getByTestId('source-card')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Import tools' })).toHaveCount(0);
    expect((await decide(bot, 'get_balance')).reason).not.toContain('not enabled');

    const balance = page.getByRole('switch', { name: 'Use get_balance' });
    await expect(balance).toHaveAttribute('aria-checked', 'true');
    await balance.click();
    await expect(page.getByTestId('toast').filter({ hasText: 'get_balance is switched off for your tenant.' })).toBeVisible();
    await expect(page.getByRole('switch', { name: 'Use get_balance' })).toHaveAttribute('aria-checked', 'false');
    const denied = await decide(bot, 'get_balance');
    expect(denied.decision).toBe('deny');
    expect(denied.reason).toContain('not enabled for this tenant');
  } finally {
    const balance = page.getByRole('switch', { name: 'Use get_balance' });
    if ((await balance.getAttribute('aria-checked')) === 'false') await balance.click();
    await expect(page.getByTestId('toast').filter({ hasText: 'get_balance is on for your tenant.' })).toBeVisible();
  }
  expect((await decide(bot, 'get_balance')).reason).not.toContain('not enabled');
  // Support sees the platform's catalog, and changes nothing.
  await page.context().clearCookies();
  await signIn(page, DEMO.support);
  await openNav(page, 'Tools & Sources', /\/tools$/);
  await expect(page.getByTestId('source-card').filter({ hasText: 'Charter policy tools' })).toBeVisible();
  await expect(page.getByRole('switch')).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Choose who gets/ })).toHaveCount(0);
  await bot.dispose();
});
