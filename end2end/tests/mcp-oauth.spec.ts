import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { BASE, DEMO, PASSWORD, apiSession, hydrated, openNav, signIn, stamp } from './helpers';

// An AI assistant connects to Charter the way the MCP authorisation specification lays out, with
// the official TypeScript SDK doing the client's part (discovery from the 401, dynamic client
// registration, PKCE, the token exchange) and Chromium doing the person's (sign in, consent). The
// assistant then adds two approval tiers in conversation; the console shows them as the tenant's
// own, the audit log names the assistant, and disconnecting it on the AI assistant page ends it.

const CALLBACK = 'http://127.0.0.1:53682/callback';

/** The client's memory: what an assistant keeps between the redirect and the callback. */
class AssistantMemory implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = '';
  authorizationUrl?: URL;
  /** The `state` sent with the authorisation request, which must come back unchanged. */
  readonly sentState = `st-${Math.random().toString(36).slice(2)}`;

  constructor(private readonly name: string) {}

  get redirectUrl(): string {
    return CALLBACK;
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: this.name, redirect_uris: [CALLBACK], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }

  state() {
    return this.sentState;
  }

  clientInformation() {
    return this.client;
  }

  saveClientInformation(information: OAuthClientInformationMixed) {
    this.client = information;
  }

  tokens() {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }

  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }

  codeVerifier() {
    return this.verifier;
  }
}

function transport(memory: AssistantMemory): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL('/mcp', BASE), { authProvider: memory });
}

/**
 * Connects as an assistant would: the first attempt is refused with 401, the SDK registers and
 * sends the person to the authorisation URL; `consent` plays the person in the browser and
 * returns the code the browser was sent back with.
 */
async function connectWithOAuth(memory: AssistantMemory, consent: (url: URL) => Promise<string>): Promise<Client> {
  const first = new Client({ name: memory.clientMetadata.client_name ?? 'assistant', version: '1.0.0' });
  const refused = transport(memory);
  await expect(first.connect(refused)).rejects.toBeInstanceOf(UnauthorizedError);
  expect(memory.client?.client_id, 'the SDK registered the client').toMatch(/^mcp_/);
  expect(memory.authorizationUrl, 'the SDK asked for the person’s consent').toBeDefined();
  const code = await consent(memory.authorizationUrl!);
  await refused.finishAuth(code);
  expect(memory.saved?.access_token).toMatch(/^chat_/);
  const client = new Client({ name: memory.clientMetadata.client_name ?? 'assistant', version: '1.0.0' });
  await client.connect(transport(memory));
  return client;
}

/** The person's part: the consent page (after signing in if need be), Allow, and the code the browser brings back. */
async function allowInBrowser(page: Page, url: URL, untick: string[] = []): Promise<string> {
  const sentState = url.searchParams.get('state');
  expect(sentState, 'the SDK sends a state').toBeTruthy();
  const callback = new Promise<URL>((resolve) => {
    void page.route(`${CALLBACK}**`, async (route) => {
      resolve(new URL(route.request().url()));
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>You may close this window.</p>' });
    });
  });
  await page.goto(url.toString());
  await hydrated(page);
  const consent = page.getByTestId('consent');
  await expect(consent).toBeVisible();
  for (const scope of untick) await consent.getByRole('checkbox', { name: new RegExp(scope) }).uncheck();
  await consent.getByRole('button', { name: 'Allow' }).click();
  const back = await callback;
  expect(back.searchParams.get('state'), 'the state comes back').toBe(sentState);
  return back.searchParams.get('code')!;
}

function text(result: { content?: unknown }): string {
  return ((result.content ?? []) as { type: string; text?: string }[]).map((block) => block.text ?? '').join('\n');
}

const tier = (name: string, over: number, role: string) =>
  `name: ${name}\nscope: tenant\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: ${over} } }\n    effect: require_approval\n    approvers: [${role}]\n    reason: expenses over $${over.toLocaleString('en-US')} need the ${role}\n`;

test('a tenant admin connects an assistant with OAuth, it adds two tiers, and they disconnect it', async ({ page }) => {
  const id = stamp();
  const assistantName = `Claude e2e ${id}`;
  const [manager, cfo] = [`OAuth manager tier ${id}`, `OAuth CFO tier ${id}`];
  const memory = new AssistantMemory(assistantName);
  const owner = await apiSession(DEMO.owner);
  try {
    // Not signed in yet: the consent page sends the person to sign in, and back.
    const client = await connectWithOAuth(memory, async (url) => {
      await page.goto(url.toString());
      await expect(page).toHaveURL(/\/login\?next=/);
      await hydrated(page);
      await page.getByLabel('Email').fill(DEMO.hospitalAdmin);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page).toHaveURL(/\/oauth\/consent\?/);
      const consent = page.getByTestId('consent');
      await expect(consent).toContainText(`Connect ${assistantName} to Charter?`);
      await expect(consent).toContainText('St. Aurelia Health');
      await expect(consent.getByRole('checkbox')).toHaveCount(3);
      return allowInBrowser(page, url);
    });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['validate_policy', 'create_policy', 'what_if', 'list_approvals']));

      // "Create a policy that requires approval for any expense over $5,000."
      const checked = await client.callTool({ name: 'validate_policy', arguments: { document: tier(manager, 5000, 'manager') } });
      expect(checked.structuredContent).toMatchObject({ valid: true });
      const first = await client.callTool({ name: 'create_policy', arguments: { document: tier(manager, 5000, 'manager') } });
      expect(first.isError, text(first)).toBeFalsy();
      // "And also anything over $25,000 needs CFO approval."
      const second = await client.callTool({ name: 'create_policy', arguments: { document: tier(cfo, 25000, 'cfo') } });
      expect(second.isError, text(second)).toBeFalsy();

      // The console: both are the tenant's own, the audit log names the assistant, and the AI
      // assistant page lists it with its last use.
      await page.goto('/');
      await hydrated(page);
      await openNav(page, 'Policies', /\/policies/);
      for (const name of [manager, cfo]) await expect(page.getByRole('link', { name, exact: true })).toBeVisible();
      await openNav(page, 'Audit log', /\/audit/);
      const created = page.getByTestId('audit-row').filter({ hasText: manager }).first();
      await expect(created.getByTestId('audit-actor')).toContainText(`${DEMO.hospitalAdmin} via MCP (${assistantName}, client mcp_`);
      await openNav(page, 'AI assistant', /\/assistant$/);
      await expect(page.getByTestId('mcp-url')).toHaveText(`${BASE}/mcp`);
      const row = page.getByTestId('connection-row').filter({ hasText: assistantName });
      await expect(row).toContainText('policies:read policies:write approvals');
      await expect(row.getByTestId('connection-last-used')).not.toHaveText('never');

      // Disconnected in the console: the assistant's next call is refused.
      await row.getByRole('button', { name: 'Disconnect' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
      await expect(page.getByTestId('toast').filter({ hasText: 'is disconnected' })).toBeVisible();
      await expect(page.getByTestId('connection-row').filter({ hasText: assistantName })).toHaveCount(0);
      await expect(client.callTool({ name: 'list_policies', arguments: {} })).rejects.toThrow();
    } finally {
      await client.close();
    }
  } finally {
    const listed = (await (await owner.get('/api/v1/tenants/st-aurelia-health/policies')).json()) as { id: string; name: string }[];
    for (const policy of listed.filter((p) => p.name.includes(id))) {
      expect((await owner.delete(`/api/v1/tenants/st-aurelia-health/policies/${policy.id}`)).status()).toBe(204);
    }
    await owner.dispose();
  }
});

test('an approver grants only what they chose, and another tenant’s assistant sees none of it', async ({ page }) => {
  const id = stamp();
  await signIn(page, DEMO.bankManager);
  const approver = await connectWithOAuth(new AssistantMemory(`Approver e2e ${id}`), async (url) => {
    await page.goto(url.toString());
    await hydrated(page);
    // A manager's role gives an assistant the approvals and nothing else.
    await expect(page.getByTestId('consent').getByRole('checkbox')).toHaveCount(1);
    await expect(page.getByTestId('consent-withheld')).toContainText('policies:read, policies:write');
    return allowInBrowser(page, url);
  });
  const owner = await apiSession(DEMO.owner);
  try {
    expect((await approver.listTools()).tools.map((tool) => tool.name)).toEqual(['list_approvals', 'resolve_approval']);
    const policies = await approver.callTool({ name: 'list_policies', arguments: {} });
    expect(policies.isError).toBe(true);
    expect(text(policies)).toContain('policies:read');

    // The startup's admin connects their own assistant, ticking off the right to change policies.
    await page.context().clearCookies();
    await signIn(page, DEMO.startupAdmin);
    const startup = await connectWithOAuth(new AssistantMemory(`Startup e2e ${id}`), (url) => allowInBrowser(page, url, ['policies:write']));
    try {
      expect((await startup.listTools()).tools.map((tool) => tool.name)).not.toContain('create_policy');
      const bankPolicies = (await (await owner.get('/api/v1/tenants/meridian-bank/policies')).json()) as { id: string }[];
      expect(bankPolicies.length, 'the bank has policies to reach for').toBeGreaterThan(0);
      const theirs = await startup.callTool({ name: 'get_policy', arguments: { policy_id: bankPolicies[0].id } });
      expect(theirs.isError).toBe(true);
      expect(text(theirs)).toContain('not found');
      const approvals = await startup.callTool({ name: 'list_approvals', arguments: {} });
      expect(approvals.isError, text(approvals)).toBeFalsy();
      expect(approvals.structuredContent).toBeDefined();
      expect(JSON.stringify(approvals.structuredContent)).not.toContain('meridian');
    } finally {
      await startup.close();
    }
  } finally {
    await approver.close();
    await owner.dispose();
  }
});
