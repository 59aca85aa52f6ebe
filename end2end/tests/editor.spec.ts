import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { DEMO, apiSession, hydrated, openNav, signIn, stamp, arrived, loadsPage } from './helpers';

const editor = (page: Page) => page.locator('#policy-document');
const toast = (page: Page, text: string | RegExp) => page.getByTestId('toast').filter({ hasText: text });

/** Types a whole new document into the editor and waits for the engine's verdict on it. */
async function typeDocument(page: Page, text: string): Promise<void> {
  await editor(page).fill(text);
  await expect(editor(page)).toHaveValue(text);
}

/** The 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((line) => line.includes(needle)) + 1;
}

test('a tenant admin writes a policy from a template, sees its errors, saves, edits and deletes it', async ({ page }) => {
  const id = stamp();
  const name = `E2E finance ${id}`;
  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'Policies', /\/policies$/);
  await page.getByRole('link', { name: 'New policy' }).click();
  await arrived(page, /\/policies\/new$/);
  await expect(page.getByRole('heading', { name: 'New policy' })).toBeVisible();

  // A template is a link: the page loads again with its document, which the engine validates.
  await loadsPage(page, () => page.getByRole('link', { name: /^Finance approvals/ }).click());
  await arrived(page, /\/policies\/new\?template=finance-approvals$/);
  await expect(page.getByRole('link', { name: /^Finance approvals/ })).toHaveAttribute('aria-current', 'true');
  await expect(editor(page)).toHaveValue(/^name: Finance approvals\n/);
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: tenant policy with 4 rules.');

  // Renamed, and kept to one test agent so it never changes what the bank's other agents are told.
  const template = await editor(page).inputValue();
  const valid = template
    .replace('name: Finance approvals', `name: ${name}`)
    .replace('scope: tenant', `scope: agent\nagent: e2e-editor-${id}`);
  await typeDocument(page, valid);
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: agent policy with 4 rules.');
  await expect(page.getByTestId('editor-error')).toHaveCount(0);

  // A typo in an effect: the error names its line, and the gutter marks it.
  const broken = valid.replace('    effect: allow', '    effect: permit');
  const badLine = lineOf(broken, 'effect: permit');
  await typeDocument(page, broken);
  await expect(page.getByTestId('editor-error')).toHaveText(new RegExp(`^Line ${badLine}, column \\d+: .*“permit” is not one of the choices: use allow, deny or require_approval`));
  await expect(page.getByTestId('editor-error')).not.toContainText('unknown variant');
  await expect(page.getByTestId('editor-error')).not.toContainText('`');
  await expect(page.locator('[data-error-line="true"]')).toHaveText(String(badLine));
  await expect(editor(page)).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByRole('button', { name: 'Save policy' })).toBeDisabled();

  // Allowing what the platform denies: the error names the platform policy it collides with.
  const loosening = `${valid}  - tool: system.exec\n    effect: allow\n    reason: the bot may run commands\n`;
  await typeDocument(page, loosening);
  const collision = page.getByTestId('editor-error');
  await expect(collision).toContainText('Platform guardrails');
  await expect(collision).toContainText('system.*');
  await expect(collision).toContainText('rule 5');
  await expect(page.getByRole('button', { name: 'Save policy' })).toBeDisabled();

  // Fixed.
  await typeDocument(page, valid);
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: agent policy with 4 rules.');
  await expect(page.getByTestId('editor-error')).toHaveCount(0);

  // The "Add a rule" form appends a rule to the document.
  const reason = `e2e ${id}: this bot never deploys`;
  await page.locator('#rule-tool').fill('deploy.production');
  await page.locator('#rule-effect').selectOption('deny');
  await page.locator('#rule-reason').fill(reason);
  await page.getByRole('button', { name: 'Add rule' }).click();
  await expect(toast(page, 'Rule added to the document')).toBeVisible();
  await expect(editor(page)).toHaveValue(new RegExp(`tool: deploy\\.production[\\s\\S]*effect: deny[\\s\\S]*${reason}`));
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: agent policy with 5 rules.');

  // Save: version 1, and the address becomes the policy's own.
  await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
  await expect(toast(page, 'Saved version 1.')).toBeVisible();
  await arrived(page, /\/policies\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByTestId('policy-version')).toHaveText('version 1');
  await expect(editor(page)).toHaveValue(new RegExp(reason));

  // Edit and save again: version 2.
  const saved = await editor(page).inputValue();
  await typeDocument(page, saved.replace('Expense approvals by amount and a cap on payments.', `Edited by the e2e test ${id}.`));
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: agent policy with 5 rules.');
  await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
  await expect(toast(page, 'Saved version 2.')).toBeVisible();
  await expect(page.getByTestId('policy-version')).toHaveText('version 2');

  // Delete asks first; Cancel keeps the policy.
  const policyUrl = page.url();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this policy?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page).toHaveURL(policyUrl);
  await expect(page.getByRole('heading', { name })).toBeVisible();

  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('dialog', { name: 'Delete this policy?' }).getByRole('button', { name: 'Delete policy' }).click();
  await expect(toast(page, 'Policy deleted.')).toBeVisible();
  await arrived(page, /\/policies$/);
  await page.getByLabel('Search', { exact: true }).fill(name);
  await page.getByLabel('Search', { exact: true }).press('Enter');
  await arrived(page, /\/policies\?q=/);
  await expect(page.getByText('No policy matches these filters.')).toBeVisible();
});

test('a platform admin creates a platform policy and edits a tenant policy, which the audit log records', async ({ page }) => {
  const id = stamp();
  const platformName = `E2E platform ${id}`;
  const tenantName = `E2E hospital ${id}`;
  // A tenant policy of its own for this test, so no demo policy changes.
  const owner = await apiSession(DEMO.owner);
  const created = await owner.post('/api/v1/tenants/st-aurelia-health/policies', {
    data: { name: tenantName, description: 'before the edit', scope: 'agent', agent: `e2e-editor-${id}`, rules: [{ tool: 'records.delete', effect: 'deny', reason: 'kept for the e2e test' }] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const tenantPolicyId = (await created.json()).id as string;

  try {
    await signIn(page, DEMO.owner);
    await openNav(page, 'Policies', /\/policies$/);

    // A new platform policy: the owner menu defaults to the platform.
    await page.getByRole('link', { name: 'New policy' }).click();
    await arrived(page, /\/policies\/new$/);
    await expect(page.getByRole('combobox', { name: 'Owner' })).toHaveValue('');
    await expect(editor(page)).toHaveValue(/scope: platform/);
    const platformDoc = `name: ${platformName}\ndescription: made by the e2e test\nscope: platform\nrules:\n  - tool: e2e${id}.nothing\n    effect: deny\n    reason: an e2e guardrail on a tool nobody has\n`;
    await typeDocument(page, platformDoc);
    await expect(page.getByTestId('editor-ok')).toHaveText('Valid: platform policy with 1 rule.');
    await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
    await expect(toast(page, 'Saved version 1.')).toBeVisible();
    await arrived(page, /\/policies\/[0-9a-f-]{36}$/);
    await expect(page.getByRole('heading', { name: platformName })).toBeVisible();
    await expect(page.getByText('Owned by the platform')).toBeVisible();
    await expect(page.getByTestId('policy-label')).toHaveText('Platform Default');

    // It is listed as a platform default; then removed again.
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('dialog', { name: 'Delete this policy?' }).getByRole('button', { name: 'Delete policy' }).click();
    await expect(toast(page, 'Policy deleted.')).toBeVisible();
    await arrived(page, /\/policies$/);

    // A tenant's policy, found through the list and edited by the platform admin.
    await page.getByLabel('Search', { exact: true }).fill(tenantName);
    await page.getByLabel('Search', { exact: true }).press('Enter');
    await arrived(page, /\/policies\?q=/);
    const row = page.getByTestId('policy-row').filter({ hasText: tenantName });
    await expect(row).toContainText('St. Aurelia Health');
    await expect(row.getByTestId('policy-label')).toHaveText('Customer Defined');
    await row.getByRole('link', { name: tenantName }).click();
    await arrived(page, new RegExp(`/policies/${tenantPolicyId}$`));
    await expect(page.getByText('Owned by St. Aurelia Health')).toBeVisible();
    await expect(page.getByTestId('policy-version')).toHaveText('version 1');
    const before = await editor(page).inputValue();
    expect(before).toContain('before the edit');
    await typeDocument(page, before.replace('before the edit', 'after the platform edit'));
    await expect(page.getByTestId('editor-ok')).toHaveText('Valid: agent policy with 1 rule.');
    await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
    await expect(toast(page, 'Saved version 2.')).toBeVisible();

    // The audit log shows the change, by the owner, as platform staff.
    await openNav(page, 'Audit log', /\/audit$/);
    await page.getByRole('combobox', { name: 'Whose changes' }).selectOption({ label: 'St. Aurelia Health' });
    await arrived(page, /\/audit\?scope=st-aurelia-health$/);
    const entry = page.getByTestId('audit-row').filter({ has: page.locator(`a[href="/policies/${tenantPolicyId}"]`) }).filter({ hasText: 'policy.update' });
    await expect(entry).toHaveCount(1);
    await expect(entry.getByTestId('audit-actor')).toHaveText(`by ${DEMO.owner} (platform staff)`);
    await entry.locator('summary').click();
    const diff = entry.getByTestId('audit-diff');
    await expect(diff).toContainText('- ');
    await expect(diff.locator('span').filter({ hasText: /^- .*before the edit/ }).first()).toBeVisible();
    await expect(diff.locator('span').filter({ hasText: /^\+ .*after the platform edit/ }).first()).toBeVisible();
  } finally {
    await owner.delete(`/api/v1/tenants/st-aurelia-health/policies/${tenantPolicyId}`);
    // The platform policy, if the test stopped before deleting it.
    const platform = await (await owner.get('/api/v1/platform/policies')).json();
    for (const policy of platform as { id: string; name: string }[]) {
      if (policy.name === platformName) await owner.delete(`/api/v1/platform/policies/${policy.id}`);
    }
    await owner.dispose();
  }
});

test('the editor shows the language warnings beside their lines, and a warned policy still saves', async ({ page }) => {
  const id = stamp();
  const name = `E2E warnings ${id}`;
  await signIn(page, DEMO.bankAdmin);
  await page.goto('/policies/new');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'New policy' })).toBeVisible();

  // Kept to one test agent, so nothing the bank's agents are told changes.
  const document = [
    `name: ${name}`,
    'scope: agent',
    `agent: e2e-warnings-${id}`,
    'rules:',
    '  - tool: "get_.*"',
    '    effect: require_approval',
    '    approvers: [manager]',
    '  - tool: expense.submit',
    '    when:',
    '      principal.role: { eq: manager }',
    '      args.amount: { gt: 20K }',
    '    effect: require_approval',
    '    approvers: [CFO officer]',
    '',
  ].join('\n');
  await typeDocument(page, document);
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: agent policy with 2 rules.');
  const warnings = page.getByTestId('editor-warning');
  const globLine = lineOf(document, 'get_.*');
  const roleLine = lineOf(document, 'principal.role');
  const amountLine = lineOf(document, 'args.amount');
  const roleOfNobodyLine = lineOf(document, 'CFO officer');
  // Besides these four, the delegation check notes that `get_.*` overlaps a platform deny.
  await expect(warnings).toHaveCount(5);
  // Each reads as a sentence: the place in words, values in quotation marks, no code quotes.
  await expect(warnings.filter({ hasText: 'CFO officer' })).toHaveText(new RegExp(`^Warning: Line ${roleOfNobodyLine}: rule 2, .*no user of this tenant holds the approver role “CFO officer”`));
  await expect(warnings.filter({ hasText: 'rule 1, tool' })).toHaveText(new RegExp(`^Warning: Line ${globLine}: rule 1, tool: .*write “get_\\*” \\(a glob\\)`));
  await expect(warnings.filter({ hasText: 'principal.role' })).toHaveText(new RegExp(`^Warning: Line ${roleLine}: .*did you mean “principal\\.roles”\\?`));
  for (const text of await warnings.allInnerTexts()) {
    expect(text).not.toContain('`');
    expect(text).not.toMatch(/rules\[\d+\]/);
  }
  await expect(warnings.filter({ hasText: '20K' })).toHaveText(new RegExp(`^Warning: Line ${amountLine}: .*write the number 20000`));
  // The gutter marks each warned line, and no line as an error.
  for (const line of [globLine, roleLine, amountLine, roleOfNobodyLine]) {
    await expect(page.locator('[data-warning-line="true"]').filter({ hasText: new RegExp(`^${line}$`) })).toHaveCount(1);
  }
  await expect(page.locator('[data-error-line="true"]')).toHaveCount(0);

  // Warnings never stop a save; they come back with it.
  await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
  await expect(toast(page, /Saved version 1\. Warnings: .*get_\.\*/)).toBeVisible();
  await arrived(page, /\/policies\/[0-9a-f-]{36}$/);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('dialog', { name: 'Delete this policy?' }).getByRole('button', { name: 'Delete policy' }).click();
  await expect(toast(page, 'Policy deleted.')).toBeVisible();
});

test('a new policy starts with a name to give and no rules, and unsaved work is never replaced or left without asking', async ({ page }) => {
  const id = stamp();
  const name = `E2E named ${id}`;
  await signIn(page, DEMO.bankAdmin);
  await openNav(page, 'Policies', /\/policies$/);
  await page.getByRole('link', { name: 'New policy' }).click();
  await arrived(page, /\/policies\/new$/);

  // Nothing to leave yet: an untouched new policy lets the user go without asking.
  await openNav(page, 'Receipts', /\/receipts$/);
  await page.goBack();
  await arrived(page, /\/policies\/new$/);
  await hydrated(page);

  // Empty: no rule allows anything, and the engine asks for the name first.
  await expect(editor(page)).toHaveValue('name: ""\ndescription: ""\nscope: tenant\nrules: []\n');
  await expect(page.getByTestId('editor-error')).toContainText('name must not be empty');
  await expect(page.getByRole('button', { name: 'Save policy' })).toBeDisabled();

  // The name field writes the document's name, and the document's name shows in the field.
  await page.getByLabel('Policy name').fill(name);
  await expect(editor(page)).toHaveValue(`name: ${name}\ndescription: ""\nscope: tenant\nrules: []\n`);
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: tenant policy with no rules yet.');

  // The "Add a rule" form adds the first rule, beside nothing.
  await page.locator('#rule-tool').fill(`e2e${id}.read`);
  await page.locator('#rule-effect').selectOption('deny');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await expect(toast(page, 'Rule added to the document')).toBeVisible();
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: tenant policy with 1 rule.');
  const mine = await editor(page).inputValue();
  expect(mine).toContain(`tool: e2e${id}.read`);
  expect(mine).not.toContain('expense.submit');

  // A template over unsaved work asks first; Cancel keeps the work.
  const leave = page.getByRole('dialog', { name: 'Leave without saving?' });
  await page.getByRole('link', { name: /^Finance approvals/ }).click();
  await expect(leave).toBeVisible();
  await leave.getByRole('button', { name: 'Cancel' }).click();
  await expect(leave).toHaveCount(0);
  await expect(editor(page)).toHaveValue(mine);

  // Leaving asks first too; Cancel stays with the work.
  await page.getByTestId('main-nav').getByRole('link', { name: 'Receipts', exact: true }).click();
  await expect(leave).toBeVisible();
  await leave.getByRole('button', { name: 'Cancel' }).click();
  await expect(leave).toHaveCount(0);
  await arrived(page, /\/policies\/new$/);
  await expect(editor(page)).toHaveValue(mine);

  // Confirmed, the template replaces the document and names it.
  await page.getByRole('link', { name: /^Finance approvals/ }).click();
  await loadsPage(page, () => leave.getByRole('button', { name: 'Discard changes' }).click());
  await arrived(page, /\/policies\/new\?template=finance-approvals$/);
  await expect(editor(page)).toHaveValue(/^name: Finance approvals\n/);
  await expect(page.getByLabel('Policy name')).toHaveValue('Finance approvals');

  // With unsaved work again (a new name), leaving after the confirmation discards it and goes
  // where the link pointed.
  await page.getByLabel('Policy name').fill(`${name} from a template`);
  await page.getByTestId('main-nav').getByRole('link', { name: 'Receipts', exact: true }).click();
  await page.getByRole('dialog', { name: 'Leave without saving?' }).getByRole('button', { name: 'Discard changes' }).click();
  await arrived(page, /\/receipts$/);
  await expect(page.getByRole('heading', { name: 'Receipts' }).first()).toBeVisible();
});

test('a tenant admin compares two versions of their policy and restores one', async ({ page }) => {
  const id = stamp();
  const name = `E2E history ${id}`;
  const document = (max: number) => ({
    name,
    scope: 'agent',
    agent: `e2e-history-${id}`,
    rules: [{ id: 'pay', tool: 'payments.transfer', effect: 'allow', limit: { 'args.amount': { max } } }],
  });
  const admin = await apiSession(DEMO.bankAdmin);
  const created = await admin.post('/api/v1/policies', { data: document(1000) });
  expect(created.status(), await created.text()).toBe(201);
  const policyId = (await created.json()).id as string;
  const updated = await admin.put(`/api/v1/policies/${policyId}`, { data: document(2500), headers: { 'If-Match': '1' } });
  expect(updated.status(), await updated.text()).toBe(200);
  try {
    await signIn(page, DEMO.bankAdmin);
    await openNav(page, 'Policies', /\/policies$/);
    await page.getByLabel('Search', { exact: true }).fill(name);
    await page.getByLabel('Search', { exact: true }).press('Enter');
    await arrived(page, /\/policies\?q=/);
    await page.getByRole('link', { name, exact: true }).click();
    await arrived(page, new RegExp(`/policies/${policyId}$`));
    await expect(page.getByTestId('policy-version')).toHaveText('version 2');

    // The history: v2 is current, v1 can be compared and restored.
    const history = page.getByTestId('policy-history');
    await expect(history.getByTestId('history-version')).toHaveCount(2);
    await expect(history.locator('[data-version="2"]')).toContainText('current');
    const first = history.locator('[data-version="1"]');
    await expect(first).toContainText(DEMO.bankAdmin);
    await first.getByRole('link', { name: 'Compare' }).click();
    await arrived(page, new RegExp(`/policies/${policyId}\\?compare=1`));
    const diff = page.getByTestId('version-diff');
    await expect(diff).toContainText('From v1 to v2');
    await expect(diff.getByTestId('version-changes')).toContainText('rule 1 (pay): limit');
    await expect(diff.getByTestId('version-changes')).not.toContainText('`');
    await expect(diff.getByTestId('version-lines').locator('span').filter({ hasText: /^- .*1000/ })).toHaveCount(1);
    await expect(diff.getByTestId('version-lines').locator('span').filter({ hasText: /^\+ .*2500/ })).toHaveCount(1);

    // Restore asks first; Cancel keeps version 2.
    await first.getByRole('button', { name: 'Restore' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore version 1?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByTestId('policy-version')).toHaveText('version 2');
    await first.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('dialog', { name: 'Restore version 1?' }).getByRole('button', { name: 'Restore' }).click();
    await expect(toast(page, 'Restored as version 3.')).toBeVisible();
    await expect(page.getByTestId('policy-version')).toHaveText('version 3');
    await expect(editor(page)).toHaveValue(/max: 1000/);
    await expect(page.getByTestId('policy-history').getByTestId('history-version')).toHaveCount(3);
    await expect(page.getByTestId('policy-history').locator('[data-version="3"]')).toContainText('current');

    // The API agrees: version 3 carries version 1's cap.
    const now = await (await admin.get(`/api/v1/policies/${policyId}`)).json();
    expect(now.version).toBe(3);
    expect(now.document.rules[0].limit['args.amount'].max).toBe(1000);
  } finally {
    await admin.delete(`/api/v1/policies/${policyId}`);
    await admin.dispose();
  }
});
