import { ConsoleMessage, Page, expect, test as base } from '@playwright/test';

/**
 * Every test imports `test` from here, not from '@playwright/test': its `page` fails the test on
 * any browser console error or uncaught page error (a panic while hydrating, a failed script),
 * whatever the test itself checks. A hydration panic once hid behind a green suite because no test
 * listened for them.
 *
 * A test that provokes an error on purpose (a 404 page, a refused sign-in) says so with
 * `expectConsoleError(page, /pattern/)`; every other error fails it.
 */

type Listener = { errors: string[]; allowed: RegExp[] };

const listeners = new WeakMap<Page, Listener>();

/** Starts recording a page's console errors and uncaught errors. */
export function listenForErrors(page: Page): Listener {
  const existing = listeners.get(page);
  if (existing) return existing;
  const listener: Listener = { errors: [], allowed: [] };
  listeners.set(page, listener);
  page.on('console', (message: ConsoleMessage) => {
    // An island the bundle has no code for stays dead; Leptos only warns about it.
    const deadIsland = message.type() === 'warning' && message.text().includes('Could not find WASM function');
    if (message.type() === 'error' || deadIsland) {
      const where = message.location().url ? ` (${message.location().url})` : '';
      listener.errors.push(`console error: ${message.text()}${where}`);
    }
  });
  page.on('pageerror', (error: Error) => listener.errors.push(`uncaught error: ${error.message}\n${error.stack ?? ''}`));
  return listener;
}

/** Lets this test's page log errors that match `pattern` (an expected 404 or 401, say). */
export function expectConsoleError(page: Page, pattern: RegExp): void {
  listenForErrors(page).allowed.push(pattern);
}

/** The errors recorded so far that no `expectConsoleError` allowed. */
export function unexpectedErrors(page: Page): string[] {
  const listener = listeners.get(page);
  if (!listener) return [];
  return listener.errors.filter((error) => !listener.allowed.some((pattern) => pattern.test(error)));
}

/** Fails at once when the page has logged an unexpected error, naming what it logged. */
export function expectNoConsoleErrors(page: Page, context = ''): void {
  const errors = unexpectedErrors(page);
  expect(errors, `browser errors${context ? ` ${context}` : ''}:\n${errors.join('\n')}`).toEqual([]);
}

export const test = base.extend<{ page: Page }>({
  page: async ({ page }, use) => {
    listenForErrors(page);
    await use(page);
    expectNoConsoleErrors(page, 'during the test');
  },
});

export { expect };
