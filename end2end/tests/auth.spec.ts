import { expect, expectConsoleError, test } from './fixtures';
import { DEMO, hydrated, navLabels, signIn, signInWithoutScript, stamp } from './helpers';

test.describe('signing in', () => {
  test('a platform admin lands on the platform dashboard with full navigation', async ({ page }) => {
    await signIn(page, DEMO.owner);
    expect(await navLabels(page)).toEqual(['Dashboard', 'Policies', 'Releases', 'Previewer', 'Tools & Sources', 'Tenants', 'API keys', 'Receipts', 'Audit log', 'Users']);
    await expect(page.getByTestId('role-badge').first()).toHaveText('Platform admin');
    await expect(page.getByRole('heading', { name: 'Platform dashboard' })).toBeVisible();
    await expect(page.getByTestId('stat-tenants')).toHaveText('3');
    await expect(page.getByTestId('stat-access')).toHaveText('Full');
    await expect(page.getByTestId('tenant-row')).toHaveCount(3);
    await expect(page.getByRole('link', { name: 'First Meridian Bank' })).toBeVisible();
    await expect(page.getByTestId('read-only-badge')).toHaveCount(0);
  });

  test('support sees the platform navigation and is marked read-only', async ({ page }) => {
    await signIn(page, DEMO.support);
    expect(await navLabels(page)).toEqual(['Dashboard', 'Policies', 'Releases', 'Previewer', 'Tools & Sources', 'Tenants', 'API keys', 'Receipts', 'Audit log', 'Users']);
    await expect(page.getByTestId('read-only-badge')).toBeVisible();
    await expect(page.getByTestId('stat-access')).toHaveText('Read-only');
    await page.getByTestId('main-nav').getByRole('link', { name: 'Users' }).click();
    await expect(page).toHaveURL(/\/users$/);
    await expect(page.getByTestId('user-table')).toContainText('owner@charter.example');
    await expect(page.getByTestId('user-table')).toContainText('admin@st-aurelia.example');
  });

  test('a tenant admin lands on their own tenant and sees only tenant navigation', async ({ page }) => {
    await signIn(page, DEMO.bankAdmin);
    expect(await navLabels(page)).toEqual(['Overview', 'Policies', 'Versions', 'Previewer', 'Approvals', 'Tools', 'API keys', 'Receipts', 'Audit log', 'AI assistant', 'Team']);
    await expect(page.getByTestId('scope-name')).toHaveText('First Meridian Bank');
    await expect(page.getByRole('heading', { name: 'First Meridian Bank' })).toBeVisible();
    await expect(page.getByTestId('tenant-quota')).toHaveText('250');
    await page.getByTestId('main-nav').getByRole('link', { name: 'Team' }).click();
    await expect(page).toHaveURL(/\/tenants\/meridian-bank$/);
    await expect(page.getByTestId('team-table')).toContainText('Omar Haddad');
    await expect(page.getByTestId('team-table')).not.toContainText('Sam Rivera');
  });

  test('an approver sees the roles they approve as', async ({ page }) => {
    await signIn(page, DEMO.bankManager);
    expect(await navLabels(page)).toEqual(['Overview', 'Approvals', 'AI assistant']);
    await expect(page.getByTestId('approver-roles')).toHaveText('You approve requests addressed to: manager.');
  });

  test('a wrong password gets a clear message that does not say whether the user exists', async ({ page }) => {
    // The refused sign-in is answered 401, which the browser logs.
    expectConsoleError(page, /status of 401 \(Unauthorized\).*\/api\/auth\/login/);
    for (const username of [DEMO.hospitalAdmin, 'nobody@nowhere.example']) {
      await page.goto('/login');
      await hydrated(page);
      await page.getByLabel('Email').fill(username);
      await page.getByLabel('Password', { exact: true }).fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
      await expect(page).toHaveURL(/\/login$/);
    }
  });

  test('repeated wrong passwords are slowed down, and the page says for how long', async ({ page }) => {
    // Refusals are answered 401, then 429 with Retry-After; the browser logs both.
    expectConsoleError(page, /status of 401 \(Unauthorized\).*\/api\/auth\/login/);
    expectConsoleError(page, /status of 429 \(Too Many Requests\).*\/api\/auth\/login/);
    // A name of its own, so that this test slows down no other test's sign-in.
    const username = `guesser-${stamp()}@nowhere.example`;
    await page.goto('/login');
    await hydrated(page);
    const attempt = async () => {
      await page.getByLabel('Email').fill(username);
      await page.getByLabel('Password', { exact: true }).fill('not-the-password');
      const answer = page.waitForResponse((response) => response.url().endsWith('/api/auth/login'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      return (await answer).status();
    };
    for (let n = 1; n <= 5; n++) {
      expect(await attempt(), `attempt ${n}`).toBe(401);
      await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
    }
    expect(await attempt(), 'the sixth attempt waits').toBe(429);
    await expect(page.getByRole('alert')).toHaveText(/try again in \d+ seconds/i);
    await expect(page).toHaveURL(/\/login$/);
  });

  test('the session cookie is HttpOnly and SameSite=Lax', async ({ page, context }) => {
    await signIn(page, DEMO.startupAdmin);
    const cookie = (await context.cookies()).find((c) => c.name === 'charter_session');
    expect(cookie, 'a session cookie is set').toBeTruthy();
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
  });
});

test.describe('signing out and access', () => {
  test('signing out ends the session', async ({ page }) => {
    await signIn(page, DEMO.owner);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto('/tenants');
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  });

  test('a signed-out visitor is sent to the login page', async ({ page }) => {
    await page.goto('/');
    await expect(page).toHaveURL(/\/login$/);
  });

  test("a tenant admin typing another tenant's URL gets a not-found page", async ({ page }) => {
    expectConsoleError(page, /status of 404 \(Not Found\).*\/tenants\/meridian-bank/);
    await signIn(page, DEMO.startupAdmin);
    const response = await page.goto('/tenants/meridian-bank');
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    await expect(page.getByText('First Meridian Bank')).toHaveCount(0);
    // Their own tenant still opens.
    await page.goto('/tenants/rocketlane');
    await expect(page.getByRole('heading', { name: 'Rocketlane Labs' })).toBeVisible();
  });

  test('a tenant admin cannot open the platform pages', async ({ page }) => {
    await signIn(page, DEMO.hospitalAdmin);
    await page.goto('/users');
    await expect(page.getByRole('alert')).toHaveText('your role does not allow this');
    await expect(page.getByText('owner@charter.example')).toHaveCount(0);
  });
});

test('the tenant filter narrows the list as you type, and works as a search without script', async ({ page, browser }) => {
  await signIn(page, DEMO.owner);
  await page.getByTestId('main-nav').getByRole('link', { name: 'Tenants' }).click();
  await expect(page).toHaveURL(/\/tenants$/);
  const shown = page.getByTestId('tenant-row').filter({ visible: true });
  await expect(page.getByTestId('tenant-count')).toHaveText('3 of 3 tenants');
  await page.getByLabel('Filter tenants').fill('health');
  await expect(shown).toHaveCount(1);
  await expect(page.getByTestId('tenant-count')).toHaveText('1 of 3 tenants');
  await expect(page.getByRole('link', { name: 'St. Aurelia Health' })).toBeVisible();
  await page.getByLabel('Filter tenants').fill('no such tenant');
  await expect(page.getByText('No tenant matches the filter.')).toBeVisible();
  await expect(shown).toHaveCount(0);
  await page.getByLabel('Filter tenants').fill('');
  await expect(shown).toHaveCount(3);

  // Without script, Enter searches: the server renders the same narrowed table.
  const { context, page: plain } = await signInWithoutScript(browser, DEMO.owner);
  try {
    await plain.goto('/tenants');
    await plain.getByLabel('Filter tenants').fill('bank');
    await plain.getByLabel('Filter tenants').press('Enter');
    await expect(plain).toHaveURL(/\/tenants\?filter=bank$/);
    await expect(plain.getByTestId('tenant-row').filter({ visible: true })).toHaveCount(1);
    await expect(plain.getByTestId('tenant-count')).toHaveText('1 of 3 tenants');
    await expect(plain.getByRole('link', { name: 'First Meridian Bank' })).toBeVisible();
  } finally {
    await context.close();
  }
});
