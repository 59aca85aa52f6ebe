import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { expect, test } from './fixtures';
import { BASE, DEMO, apiSession, hydrated, openNav, signIn, stamp, tenantKey } from './helpers';

// Charter's MCP server driven by the official TypeScript SDK, as an AI assistant connects to it:
// the conversation of the product's sources, then the console shows what the assistant did.

async function connect(key: string, name: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', BASE), { requestInit: { headers: { Authorization: `Bearer ${key}` } } });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return client;
}

function text(result: { content?: unknown }): string {
  return ((result.content ?? []) as { type: string; text?: string }[]).map((block) => block.text ?? '').join('\n');
}

const tier = (name: string, over: number, role: string) =>
  `name: ${name}\nscope: tenant\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: ${over} } }\n    effect: require_approval\n    approvers: [${role}]\n    reason: expenses over $${over.toLocaleString('en-US')} need the ${role}\n`;

test('an assistant adds two approval tiers over MCP, and the console shows them as the tenant’s own', async ({ page }) => {
  const id = stamp();
  const [manager, cfo] = [`MCP manager tier ${id}`, `MCP CFO tier ${id}`];
  const client = await connect(await tenantKey(DEMO.startupAdmin), 'e2e-assistant');
  const owner = await apiSession(DEMO.owner);
  try {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const expected of ['validate_policy', 'create_policy', 'update_policy', 'what_if', 'list_approvals']) expect(names).toContain(expected);
    expect(tools.find((tool) => tool.name === 'create_policy')?.inputSchema.required).toEqual(['document']);

    // "Create a policy that requires approval for any expense over $5,000."
    const checked = await client.callTool({ name: 'validate_policy', arguments: { document: tier(manager, 5000, 'manager') } });
    expect(checked.structuredContent).toMatchObject({ valid: true });
    const first = await client.callTool({ name: 'create_policy', arguments: { document: tier(manager, 5000, 'manager') } });
    expect(first.isError, text(first)).toBeFalsy();
    expect(text(first)).toContain('Customer Defined');
    // "And also anything over $25,000 needs CFO approval."
    const second = await client.callTool({ name: 'create_policy', arguments: { document: tier(cfo, 25000, 'cfo') } });
    expect(second.isError, text(second)).toBeFalsy();
    const whatIf = await client.callTool({ name: 'what_if', arguments: { tool: 'expense.submit', args: { amount: 30000 } } });
    expect(whatIf.structuredContent).toMatchObject({ verdict: 'require_approval' });

    // A document that does not read: a refusal the assistant can relay, naming the line.
    const broken = await client.callTool({ name: 'create_policy', arguments: { document: 'name: Broken\nscope: tenant\nrules:\n  - tool: a.b\n    effect: maybe\n' } });
    expect(broken.isError).toBe(true);
    expect(text(broken)).toContain('maybe');

    // The platform view labels both as the startup's own; the audit log says they came via MCP.
    await signIn(page, DEMO.owner);
    await page.goto(`/policies?q=${encodeURIComponent(id)}`);
    await hydrated(page);
    const rows = page.getByTestId('policy-row');
    await expect(rows).toHaveCount(2);
    for (const name of [manager, cfo]) {
      const row = rows.filter({ has: page.getByRole('link', { name, exact: true }) });
      await expect(row.getByTestId('policy-label')).toHaveText('Customer Defined');
      await expect(row).toContainText('Rocketlane Labs');
    }
    await page.goto('/audit');
    await hydrated(page);
    const created = page.getByTestId('audit-row').filter({ hasText: manager }).first();
    await expect(created.getByTestId('audit-actor')).toContainText('via MCP');
  } finally {
    await client.close();
    const listed = (await (await owner.get('/api/v1/tenants/rocketlane/policies')).json()) as { id: string; name: string }[];
    for (const policy of listed.filter((p) => p.name.includes(id))) {
      expect((await owner.delete(`/api/v1/tenants/rocketlane/policies/${policy.id}`)).status()).toBe(204);
    }
    await owner.dispose();
  }
});

test('another tenant’s key sees none of it, and no key gets no MCP', async () => {
  const id = stamp();
  const bank = await connect(await tenantKey(DEMO.bankAdmin), 'e2e-bank');
  const startup = await connect(await tenantKey(DEMO.startupAdmin), 'e2e-startup');
  try {
    const created = await bank.callTool({ name: 'create_policy', arguments: { document: tier(`MCP isolation ${id}`, 100, 'manager') } });
    const policyId = (created.structuredContent as { id: string }).id;
    const read = await startup.callTool({ name: 'get_policy', arguments: { policy_id: policyId } });
    expect(read.isError).toBe(true);
    expect(text(read)).toContain('not found');
    const listed = await startup.callTool({ name: 'list_policies', arguments: {} });
    expect(text(listed)).not.toContain(`MCP isolation ${id}`);
    const deleted = await bank.callTool({ name: 'delete_policy', arguments: { policy_id: policyId, expected_version: 1 } });
    expect(deleted.isError, text(deleted)).toBeFalsy();
  } finally {
    await bank.close();
    await startup.close();
  }
  await expect(connect('not-a-key', 'e2e-nobody')).rejects.toThrow();
});

test('a connected client hears tools/list_changed when its tenant switches one of Charter’s tools off, and on again', async ({ page }) => {
  const client = await connect(await tenantKey(DEMO.startupAdmin), 'e2e-listening');
  let heard = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
    heard += 1;
  });
  const names = async () => (await client.listTools()).tools.map((tool) => tool.name);
  try {
    expect(await names()).toContain('list_receipts');
    await signIn(page, DEMO.startupAdmin);
    await openNav(page, 'Tools', /\/tools$/);
    const receipts = page.getByRole('switch', { name: 'Use charter.list_receipts' });
    await receipts.click();
    await expect(page.getByTestId('toast').filter({ hasText: 'charter.list_receipts is switched off for your tenant.' })).toBeVisible();
    // No reconnecting: the notification arrives on the open stream, and the list follows.
    await expect.poll(() => heard, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect(await names()).not.toContain('list_receipts');
    const before = heard;
    await page.getByRole('switch', { name: 'Use charter.list_receipts' }).click();
    await expect(page.getByTestId('toast').filter({ hasText: 'charter.list_receipts is on for your tenant.' })).toBeVisible();
    await expect.poll(() => heard, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(await names()).toContain('list_receipts');
  } finally {
    const receipts = page.getByRole('switch', { name: 'Use charter.list_receipts' });
    if ((await receipts.count()) > 0 && (await receipts.getAttribute('aria-checked')) === 'false') await receipts.click();
    await client.close();
  }
});
