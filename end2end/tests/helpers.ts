import { expect, Page } from '@playwright/test';

export const PASSWORD = process.env.CHARTER_DEMO_PASSWORD ?? 'charter-demo';

export const DEMO = {
  owner: 'owner@charter.example',
  support: 'support@charter.example',
  bankAdmin: 'admin@meridian-bank.example',
  bankManager: 'manager@meridian-bank.example',
  startupAdmin: 'admin@rocketlane.example',
  hospitalAdmin: 'admin@st-aurelia.example',
};

/** Waits until the page has hydrated, so clicks reach Leptos' handlers. */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
}

/** Signs in through the login form, as a person would, and waits for the dashboard. */
export async function signIn(page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('main-nav')).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
}

/** The labels of the main navigation, in order. */
export async function navLabels(page: Page): Promise<string[]> {
  return (await page.getByTestId('main-nav').getByRole('link').allInnerTexts()).map((t) => t.trim());
}
