import { createServer, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { expect, test } from './fixtures';
import { BASE, DEMO, apiSession, hydrated, openNav, signIn, stamp, tenantKey } from './helpers';

// The MCP gateway end to end, with an upstream MCP server written with the official TypeScript
// SDK and started by the test: the owner connects it in Tools & Sources, a tenant's agent (the
// same SDK's client) lists and calls its tools through Charter. The upstream receives allowed
// calls only, a masked field of its answer never reaches the agent, a denied call never reaches
// it, and a call held for approval reaches it once the manager approves it in the console.

type Received = { tool: string; args: Record<string, unknown> };

/** A small CRM as an MCP server: every call it receives is recorded. */
async function startUpstream(): Promise<{ endpoint: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const serve = async (request: IncomingMessage, response: ServerResponse) => {
    const server = new Server({ name: 'e2e-crm', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [
        { name: 'lookup', description: 'Look a customer up', inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
        { name: 'send', description: 'Send a payment', inputSchema: { type: 'object', properties: { amount: { type: 'number' }, memo: { type: 'string' } } } },
        { name: 'erase', description: 'Erase a customer', inputSchema: { type: 'object', properties: { id: { type: 'string' } } } },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (call) => {
      const args = (call.params.arguments ?? {}) as Record<string, unknown>;
      received.push({ tool: call.params.name, args });
      if (call.params.name === 'lookup') {
        const customer = { id: args.id, name: 'Ada Lovelace', ssn: '123-45-6789' };
        return { content: [{ type: 'text', text: JSON.stringify(customer) }], structuredContent: customer };
      }
      return { content: [{ type: 'text', text: `${call.params.name} done` }] };
    });
    // Stateless: a server and transport per request, as the SDK's examples do.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    await transport.handleRequest(request, response, body);
  };
  const http: HttpServer = createServer((request, response) => {
    serve(request, response).catch((error) => {
      response.statusCode = 500;
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}/mcp`, received, close: () => new Promise((resolve) => http.close(() => resolve())) };
}

function text(result: { content?: unknown }): string {
  return ((result.content ?? []) as { type: string; text?: string }[]).map((block) => block.text ?? '').join('\n');
}

test('agents call an upstream MCP server through the gateway: allowed, masked, denied, held and approved', async ({ page }) => {
  const id = stamp();
  const prefix = `gw${id}.`;
  const upstream = await startUpstream();
  const owner = await apiSession(DEMO.owner);
  const admin = await apiSession(DEMO.bankAdmin);
  let sourceId = '';
  let policyId = '';
  let client: Client | undefined;
  try {
    // The owner connects the upstream in Tools & Sources.
    await signIn(page, DEMO.owner);
    await openNav(page, 'Tools & Sources', /\/tools$/);
    await hydrated(page);
    await page.getByLabel('Server name').fill(`Gateway CRM ${id}`);
    await page.getByLabel('Endpoint (Streamable HTTP)').fill(upstream.endpoint);
    await page.getByLabel('Name prefix for its tools (optional)').fill(prefix);
    await page.getByLabel('Enable its tools at once').check();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect(page.getByRole('status')).toContainText(`Connected Gateway CRM ${id} with 3 tools.`);
    const card = page.getByTestId('source-card').filter({ hasText: `Gateway CRM ${id}` });
    await expect(card.getByTestId('source-count')).toHaveText('3 of 3 enabled');
    await expect(card.getByTestId('upstream')).toContainText(upstream.endpoint);
    await expect(card).toContainText(`${prefix}lookup`);
    // Reading its tools again (a plain form) finds nothing new and says so.
    await card.getByRole('button', { name: 'Read its tools again' }).click();
    await expect(page.getByTestId('toast').filter({ hasText: `Gateway CRM ${id}: its tools are as they were.` })).toBeVisible();
    await expect(card.getByTestId('source-count')).toHaveText('3 of 3 enabled');
    const catalog = await (await owner.post('/api/tools/catalog')).json();
    sourceId = catalog.sources.find((source: { name: string }) => source.name === `Gateway CRM ${id}`).id;

    // The bank's rules: lookups allowed with the SSN masked, erasing denied, payments over $1,000
    // held for a manager.
    const created = await admin.post('/api/v1/policies', {
      data: {
        name: `Gateway CRM rules ${id}`,
        scope: 'tenant',
        rules: [
          { tool: `${prefix}lookup`, effect: 'allow', mask: ['result.ssn'] },
          { tool: `${prefix}erase`, effect: 'deny', reason: 'agents never erase customers' },
          { tool: `${prefix}send`, effect: 'allow' },
          { tool: `${prefix}send`, when: { 'args.amount': { gt: 1000 } }, effect: 'require_approval', approvers: ['manager'], reason: 'payments over $1,000 need a manager' },
        ],
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    policyId = (await created.json()).id;

    // The agent connects with its tenant's key, as any MCP client would.
    const key = await tenantKey(DEMO.bankAdmin);
    client = new Client({ name: 'e2e-agent', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp/gateway', BASE), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain(`${prefix}lookup`);
    expect(names).toContain(`${prefix}send`);
    expect(names, 'every call of it is denied, so it is not offered').not.toContain(`${prefix}erase`);

    const lookup = await client.callTool({ name: `${prefix}lookup`, arguments: { id: 'c-42' } });
    expect(lookup.isError, text(lookup)).toBeFalsy();
    expect(lookup.structuredContent).toMatchObject({ name: 'Ada Lovelace', ssn: '[masked]' });
    expect(JSON.stringify(lookup)).not.toContain('123-45-6789');
    expect(upstream.received).toEqual([{ tool: 'lookup', args: { id: 'c-42' } }]);

    // The receipt of the lookup, in the console, keeps the digest of what the upstream answered.
    await page.context().clearCookies();
    await signIn(page, DEMO.bankAdmin);
    await page.goto(`/receipts?tool=${encodeURIComponent(`${prefix}lookup`)}`);
    await hydrated(page);
    const receipt = page.getByTestId('receipt-row').first();
    await receipt.locator('summary').click();
    await expect(receipt.getByTestId('receipt-result-digest')).toHaveText(/^[0-9a-f]{64}$/);
    await expect(receipt).not.toContainText('123-45-6789');

    const erase = await client.callTool({ name: `${prefix}erase`, arguments: { id: 'c-42' } });
    expect(erase.isError).toBe(true);
    expect(text(erase)).toContain('agents never erase customers');

    const memo = `gateway e2e ${id}`;
    const held = await client.callTool({ name: `${prefix}send`, arguments: { amount: 4200, memo } });
    expect(held.isError, text(held)).toBeFalsy();
    expect(held.structuredContent).toMatchObject({ decision: 'require_approval', approvers: ['manager'] });
    expect(upstream.received.map((call) => call.tool)).toEqual(['lookup']);

    // The manager approves it in the console; the same call then goes through, once.
    await page.context().clearCookies();
    await signIn(page, DEMO.bankManager);
    await openNav(page, 'Approvals', /\/approvals/);
    await hydrated(page);
    const approval = page.getByTestId('approval-card').filter({ hasText: memo });
    await expect(approval.getByTestId('approval-reason')).toContainText('payments over $1,000 need a manager');
    await approval.getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByTestId('toast').filter({ hasText: "Approved. The agent's next poll sees it." })).toBeVisible();

    const through = await client.callTool({ name: `${prefix}send`, arguments: { memo, amount: 4200 } });
    expect(through.isError, text(through)).toBeFalsy();
    expect(text(through)).toContain('send done');
    expect(upstream.received.map((call) => call.tool)).toEqual(['lookup', 'send']);
    expect(upstream.received[1].args).toEqual({ amount: 4200, memo });
  } finally {
    await client?.close();
    if (policyId) await admin.delete(`/api/v1/policies/${policyId}`);
    if (sourceId) await owner.post('/api/tools/delete_source', { form: { id: sourceId } });
    await owner.dispose();
    await admin.dispose();
    await upstream.close();
  }
});
