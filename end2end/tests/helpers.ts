import { APIRequestContext, Browser, BrowserContext, Page, request } from '@playwright/test';
import { expect, expectNoConsoleErrors } from './fixtures';

export const PASSWORD = process.env.CHARTER_DEMO_PASSWORD ?? 'charter-demo';
export const BASE = process.env.CHARTER_BASE_URL ?? 'http://127.0.0.1:3000';

export const DEMO = {
  owner: 'owner@charter.example',
  support: 'support@charter.example',
  bankAdmin: 'admin@meridian-bank.example',
  bankManager: 'manager@meridian-bank.example',
  bankCfo: 'cfo@meridian-bank.example',
  startupAdmin: 'admin@rocketlane.example',
  hospitalAdmin: 'admin@st-aurelia.example',
  hospitalPrivacy: 'privacy@st-aurelia.example',
};

/**
 * Waits until the page has hydrated, so clicks reach Leptos' handlers. A page that logs an error
 * first (a panic while hydrating never sets the mark) fails at once with what it logged.
 */
export async function hydrated(page: Page): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    expectNoConsoleErrors(page, `while hydrating ${page.url()}`);
    if ((await page.locator('html').getAttribute('data-hydrated')) === 'true') return;
    await page.waitForTimeout(20);
  }
  await expect(page.locator('html'), `${page.url()} hydrates`).toHaveAttribute('data-hydrated', 'true', { timeout: 1 });
}

/**
 * Waits for the page a filter or a plain form sent the browser to (`url`), and for it to become
 * interactive: each is a whole page load now.
 */
export async function arrived(page: Page, url: RegExp): Promise<void> {
  await expect(page).toHaveURL(url);
  await hydrated(page);
}

/**
 * Does `action`, which loads a page (another one, or the same one again), and waits until that
 * page is interactive. The old page's mark is taken away first, so the wait cannot end on it.
 */
export async function loadsPage(page: Page, action: () => Promise<unknown>): Promise<void> {
  await page.evaluate(() => document.documentElement.removeAttribute('data-hydrated'));
  await action();
  await hydrated(page);
}

/** Signs in through the login form, as a person would, and waits for the dashboard. */
export async function signIn(page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('main-nav')).toBeVisible();
  await arrived(page, /\/$/);
}

/**
 * A browser that runs no script, signed in through the login form: what the console shows and
 * does without its bundle. Close the context when done.
 */
export async function signInWithoutScript(browser: Browser, username: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/$/);
  return { context, page };
}

/** The labels of the main navigation, in order. */
export async function navLabels(page: Page): Promise<string[]> {
  return (await page.getByTestId('main-nav').getByRole('link').allInnerTexts()).map((t) => t.trim());
}

/**
 * Opens a page through the main navigation, as a person would, and waits until its interactive
 * parts are live (every page is a whole page load).
 */
export async function openNav(page: Page, name: string, url: RegExp): Promise<void> {
  await hydrated(page);
  await page.getByTestId('main-nav').getByRole('link', { name, exact: true }).click();
  await arrived(page, url);
}

/** An API client signed in as a console user, through the login form's endpoint. */
export async function apiSession(username: string, password = PASSWORD): Promise<APIRequestContext> {
  const api = await request.newContext({ baseURL: BASE });
  const login = await api.post('/api/auth/login', { form: { username, password }, headers: { Accept: 'application/json' } });
  expect(login.ok(), `signing in ${username} through the API`).toBeTruthy();
  return api;
}

/** A tenant API key, created the way a tenant admin's tooling would: sign in, POST /api/v1/keys. */
export async function tenantKey(admin: string): Promise<string> {
  const api = await apiSession(admin);
  const created = await api.post('/api/v1/keys', { data: { name: `e2e ${Date.now()}` } });
  expect(created.status()).toBe(201);
  const secret = (await created.json()).secret as string;
  await api.dispose();
  return secret;
}

/** An agent's API client: every call carries the tenant API key. */
export async function agent(key: string): Promise<APIRequestContext> {
  return request.newContext({ baseURL: BASE, extraHTTPHeaders: { Authorization: `Bearer ${key}` } });
}

/** A short suffix that makes names unique across runs on a re-used database. */
export function stamp(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}
