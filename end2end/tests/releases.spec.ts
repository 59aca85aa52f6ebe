import { APIRequestContext, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { DEMO, agent, openNav, signIn, stamp, tenantKey, arrived, loadsPage } from './helpers';

const toast = (page: Page, text: string | RegExp) => page.getByTestId('toast').filter({ hasText: text });

/** What the agent is told for an expense carrying this run's marker argument. */
async function expense(client: APIRequestContext, marker: string): Promise<{ decision: string; reason: string; platform_release: number }> {
  const answer = await client.post('/api/v1/decide', { data: { tool: 'expense.submit', args: { amount: 10, [marker]: 'on' } } });
  expect(answer.status()).toBe(200);
  return answer.json();
}

test('a platform admin drafts a change, sees its replay, publishes, promotes it to a canary, sees the shadow diff of another tenant, rolls the canary back and promotes to all', async ({ page }) => {
  const id = stamp();
  const marker = `e2e_release_${id}`;
  const name = `E2E release ${id}`;
  const bank = await agent(await tenantKey(DEMO.bankAdmin));
  const startup = await agent(await tenantKey(DEMO.startupAdmin));
  const general = (await expense(startup, marker)).platform_release;

  // The change is written as any platform policy, and is a draft.
  await signIn(page, DEMO.owner);
  await openNav(page, 'Policies', /\/policies$/);
  await expect(page.getByTestId('draft-notice')).toContainText('Edits to platform policies are a draft');
  await page.getByRole('link', { name: 'New policy' }).click();
  await arrived(page, /\/policies\/new$/);
  const document = `name: ${name}\nscope: platform\nrules:\n  - tool: "*"\n    when: { args.${marker}: { eq: "on" } }\n    effect: deny\n    reason: the e2e release ${id} says no\n`;
  await page.locator('#policy-document').fill(document);
  await expect(page.getByTestId('editor-ok')).toHaveText('Valid: platform policy with 1 rule.');
  await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
  await expect(toast(page, 'Saved version 1.')).toBeVisible();
  await arrived(page, /\/policies\/[0-9a-f-]{36}$/);
  expect((await expense(bank, marker)).decision, 'a draft runs nowhere').toBe('allow');

  // Before publishing, its blast radius: the recent decisions it would change, by tenant.
  await openNav(page, 'Releases', /\/releases$/);
  await expect(page.getByTestId('draft-changes')).toContainText(`adds policy “${name}”`);
  await page.getByLabel('Days of receipts').fill('1');
  await page.getByRole('button', { name: 'Replay the draft' }).click();
  await arrived(page, /\/releases\?replay=1$/);
  await expect(page.getByTestId('replay-summary')).toContainText('the draft against');
  for (const tenant of ['meridian-bank', 'rocketlane']) {
    const group = page.locator(`[data-testid="replay-group"][data-tenant="${tenant}"]`).filter({ hasText: name });
    await expect(group).toContainText('expense.submit');
    await expect(group).toContainText('allow → deny');
    await expect(group).toContainText(marker);
  }

  // Published, it still runs nowhere.
  await page.getByLabel('Release note').fill(`deny the e2e marker ${id}`);
  const publish = page.getByRole('button', { name: /^Publish release \d+$/ });
  const number = Number((await publish.innerText()).replace('Publish release ', ''));
  await publish.click();
  await expect(toast(page, `Published release ${number}. It runs nowhere until you promote it.`)).toBeVisible();
  const release = page.locator(`[data-testid="release"][data-number="${number}"]`);
  await expect(release).toContainText(`deny the e2e marker ${id}`);
  await expect(release.getByTestId('release-runs')).toHaveText('Runs nowhere.');
  expect((await expense(bank, marker)).decision, 'published is not promoted').toBe('allow');

  // A canary runs it first.
  await release.getByLabel(`Tenant to promote release ${number} to`).selectOption({ label: 'First Meridian Bank' });
  await release.getByRole('button', { name: 'Promote to this tenant' }).click();
  await expect(toast(page, 'Promoted: 1 tenant moved to it.')).toBeVisible();
  await expect(release.getByTestId('release-runs')).toContainText('canary: First Meridian Bank');
  await expect(page.locator('[data-testid="tenant-release"][data-tenant="meridian-bank"]')).toContainText(`Release ${number} canary`);
  const denied = await expense(bank, marker);
  expect([denied.decision, denied.platform_release]).toEqual(['deny', number]);
  expect(denied.reason, 'the agent reads the platform rule as a boundary').toBe(`denied by a platform boundary (\`*\` deny): the e2e release ${id} says no`);
  expect((await expense(startup, marker)).platform_release, 'the others stay on the general release').toBe(general);

  // Another tenant runs it in shadow: its answers do not change, and its shadow diff shows what would.
  const rocketlane = page.locator('[data-testid="tenant-release"][data-tenant="rocketlane"]');
  await rocketlane.getByLabel('Shadow for rocketlane').selectOption(String(number));
  await rocketlane.getByRole('button', { name: 'Run in shadow' }).click();
  await expect(toast(page, `Running platform release ${number} in shadow for the tenant.`)).toBeVisible();
  await expect(rocketlane.getByTestId('tenant-shadow')).toHaveText(`in shadow: platform release ${number}`);
  expect((await expense(startup, marker)).decision, 'the shadow changes no answer').toBe('allow');
  await rocketlane.getByRole('link', { name: 'Versions and shadow diff' }).click();
  await arrived(page, /\/versions\?tenant=rocketlane$/);
  await expect(page.getByTestId('shadow-standing')).toContainText(`platform release ${number} runs in shadow`);
  const shadowed = page.getByTestId('shadow-row').filter({ hasText: 'expense.submit' }).filter({ hasText: 'allow → deny' });
  await expect(shadowed).toContainText(marker);
  await openNav(page, 'Releases', /\/releases$/);
  await rocketlane.getByRole('button', { name: 'Stop the shadow' }).click();
  await expect(toast(page, 'Nothing runs in shadow for the tenant any more.')).toBeVisible();

  // The canary is rolled back alone.
  const meridian = page.locator('[data-testid="tenant-release"][data-tenant="meridian-bank"]');
  await meridian.getByLabel('Release for meridian-bank').selectOption(String(general));
  await meridian.getByRole('button', { name: 'Pin or roll back' }).click();
  await expect(toast(page, `The tenant now runs release ${general}.`)).toBeVisible();
  await expect(meridian).toContainText(`Release ${general} pinned`);
  const rolledBack = await expense(bank, marker);
  expect([rolledBack.decision, rolledBack.platform_release]).toEqual(['allow', general]);

  // Promoted to all, it reaches every tenant that follows the general release; the pinned canary
  // stays where it was until it follows again.
  await release.getByRole('button', { name: 'Promote to all' }).click();
  await page.getByRole('dialog', { name: `Promote release ${number} to all?` }).getByRole('button', { name: 'Promote to all' }).click();
  await expect(toast(page, /^Promoted: \d+ tenants? moved to it\.$/)).toBeVisible();
  await expect(release.getByTestId('release-runs')).toContainText('general: every tenant without a pin');
  expect((await expense(startup, marker)).decision).toBe('deny');
  expect((await expense(bank, marker)).decision, 'the rolled-back canary stays pinned').toBe('allow');

  // The previewer shows any tenant at any release, and the draft.
  await openNav(page, 'Previewer', /\/preview$/);
  await page.locator('#preview-tenant').selectOption('meridian-bank');
  await expect(page).toHaveURL(/\/preview\?tenant=meridian-bank$/);
  await expect(page.getByTestId('preview-shown')).toContainText(`platform release ${general},`);
  await page.locator('#preview-release').selectOption(String(number));
  await expect(page.getByTestId('preview-shown')).toContainText(`platform release ${number},`);
  await expect(page.getByTestId('effective-rules')).toContainText(name);

  await openNav(page, 'Releases', /\/releases$/);
  await meridian.getByRole('button', { name: 'Follow the general release' }).click();
  await expect(meridian).toContainText(`Release ${number} follows the general release`);
  expect((await expense(bank, marker)).decision).toBe('deny');

  // Every step is in the audit log.
  await openNav(page, 'Audit log', /\/audit/);
  await page.locator('#audit-action').selectOption({ label: 'Releases' });
  await expect(page).toHaveURL(/\/audit\?action=release\.$/);
  for (const action of ['release.publish', 'release.promote', 'release.rollback', 'release.follow']) {
    await expect(page.getByTestId('audit-action').filter({ hasText: action }).first()).toBeVisible();
  }
  await page.locator('#audit-action').selectOption({ label: 'Shadows' });
  await expect(page).toHaveURL(/\/audit\?action=shadow\.$/);
  for (const action of ['shadow.start', 'shadow.stop']) {
    await expect(page.getByTestId('audit-action').filter({ hasText: action }).first()).toBeVisible();
  }
  await bank.dispose();
  await startup.dispose();
});

test('a tenant admin pins an earlier revision of their policies and runs the newest again', async ({ page }) => {
  const id = stamp();
  const key = await agent(await tenantKey(DEMO.startupAdmin));
  const tool = 'expense.submit';
  // An agent policy for a test agent only: it denies, then a save lets the tenant's rules decide.
  await signIn(page, DEMO.startupAdmin);
  await openNav(page, 'Policies', /\/policies$/);
  await page.getByRole('link', { name: 'New policy' }).click();
  await arrived(page, /\/policies\/new$/);
  const doc = (effect: string) => `name: E2E revision ${id}\nscope: agent\nagent: e2e-revision-${id}\nrules:\n  - tool: "${tool}"\n    effect: ${effect}\n`;
  await page.locator('#policy-document').fill(doc('deny'));
  await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
  await expect(toast(page, 'Saved version 1.')).toBeVisible();
  await arrived(page, /\/policies\/[0-9a-f-]{36}$/);
  await page.locator('#policy-document').fill(doc('allow'));
  await loadsPage(page, () => page.getByRole('button', { name: 'Save policy' }).click());
  await expect(toast(page, 'Saved version 2.')).toBeVisible();
  const ask = async () => (await (await key.post('/api/v1/decide', { data: { tool, args: { amount: 10 }, agent: `e2e-revision-${id}` } })).json()).decision as string;
  expect(await ask()).toBe('allow');

  await openNav(page, 'Versions', /\/versions$/);
  await expect(page.getByTestId('versions-standing')).toContainText('runs platform release');
  const newest = page.getByTestId('revision').first();
  await expect(newest).toContainText(`updated \`E2E revision ${id}\` to version 2`);
  await expect(newest).toContainText('enforced');
  const earlier = page.getByTestId('revision').nth(1);
  await expect(earlier).toContainText(`created \`E2E revision ${id}\``);
  const number = await earlier.getAttribute('data-number');
  await earlier.getByRole('button', { name: 'Pin' }).click();
  await page.getByRole('dialog', { name: `Pin revision ${number}?` }).getByRole('button', { name: 'Pin' }).click();
  await expect(toast(page, `Decisions now run revision ${number}.`)).toBeVisible();
  await expect(page.getByTestId('versions-standing')).toContainText(`revision ${number} of its own policies, pinned`);
  expect(await ask(), 'the earlier revision is enforced').toBe('deny');

  await page.getByRole('button', { name: /^Run the newest revision/ }).click();
  await expect(page.getByTestId('versions-standing')).toContainText('its newest revision');
  expect(await ask()).toBe('allow');

  // The earlier revision in shadow: decisions do not change; then the shadow stops.
  await page.getByTestId('revision').nth(1).getByRole('button', { name: 'Try in shadow' }).click();
  await expect(toast(page, /^Running .* in shadow: decisions are unchanged/)).toBeVisible();
  await expect(page.getByTestId('shadow-standing')).toContainText('runs in shadow');
  expect(await ask(), 'the shadow changes no answer').toBe('allow');
  await page.getByRole('button', { name: 'Stop the shadow' }).click();
  await expect(toast(page, 'Nothing runs in shadow any more.')).toBeVisible();
  await expect(page.getByTestId('shadow-standing')).toContainText('Nothing runs in shadow');
  await openNav(page, 'Audit log', /\/audit/);
  await page.locator('#audit-action').selectOption({ label: 'Revisions' });
  await expect(page).toHaveURL(/\/audit\?action=revision\.$/);
  await expect(page.getByTestId('audit-action').filter({ hasText: 'revision.pin' }).first()).toBeVisible();
  await expect(page.getByTestId('audit-action').filter({ hasText: 'revision.unpin' }).first()).toBeVisible();
  await key.dispose();
});
