// Measures what a browser pays for each console page: the WebAssembly it downloads (raw and as
// `gzip -9` would send it) and the time from navigation start to interactive (the moment the app
// marks <html data-hydrated>). Every load is cold: a new browser context with an empty cache.
// Run through scripts/bench-console, which serves the release build as users run it.
//   node bench/console.mjs [loads per page]
import { chromium } from '@playwright/test';
import { gzipSync } from 'node:zlib';

const BASE = process.env.CHARTER_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.CHARTER_DEMO_PASSWORD ?? 'charter-demo';
const LOADS = Number(process.argv[2] ?? 5);

// Records when the app sets data-hydrated, in ms since navigation start, before any script runs.
const MARK_HYDRATED = () => {
  const observer = new MutationObserver(() => {
    if (document.documentElement.getAttribute('data-hydrated') === 'true') {
      window.__hydratedAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function context(user) {
  const ctx = await browser.newContext({ baseURL: BASE });
  await ctx.addInitScript(MARK_HYDRATED);
  if (user) {
    const login = await ctx.request.post('/api/auth/login', {
      form: { username: user, password: PASSWORD },
      headers: { Accept: 'application/json' },
    });
    if (!login.ok()) throw new Error(`signing in ${user} answered ${login.status()}`);
  }
  return ctx;
}

// A slower link than the loopback: 20 Mbit/s down, 5 up, 20 ms each way, as over an office line.
const OFFICE_LINE = { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 5e6 / 8 };

/** One cold load of `path`: wasm bytes, JS bytes, and navigation start to interactive. */
async function load(user, path, network) {
  const ctx = await context(user);
  const page = await ctx.newPage();
  if (network) await (await ctx.newCDPSession(page)).send('Network.emulateNetworkConditions', network);
  const errors = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  const bodies = [];
  page.on('response', (response) => {
    const url = response.url();
    if (!url.endsWith('.wasm') && !url.endsWith('.js')) return;
    // The body as decoded, and what crossed the wire (compressed, if the server compressed it).
    const read = Promise.all([response.body(), response.request().sizes()]);
    bodies.push(read.then(([body, sizes]) => ({ url, body, sent: sizes.responseBodySize })).catch(() => null));
  });
  await page.goto(path);
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 30_000 });
  const interactive = await page.evaluate(() => window.__hydratedAt);
  const files = (await Promise.all(bodies)).filter(Boolean);
  const sum = (suffix, f) => files.filter((file) => file.url.endsWith(suffix)).reduce((n, file) => n + f(file.body), 0);
  const result = {
    wasmRaw: sum('.wasm', (b) => b.length),
    wasmGzip: sum('.wasm', (b) => gzipSync(b, { level: 9 }).length),
    wasmSent: files.filter((file) => file.url.endsWith('.wasm')).reduce((n, file) => n + file.sent, 0),
    wasmFiles: files.filter((file) => file.url.endsWith('.wasm')).length,
    jsRaw: sum('.js', (b) => b.length),
    interactive,
  };
  await ctx.close();
  if (errors.length) throw new Error(`${path} logged errors: ${errors.join(' | ')}`);
  return result;
}

async function firstPolicyPath(user) {
  const ctx = await context(user);
  const response = await ctx.request.get('/api/v1/policies');
  const body = await response.json();
  await ctx.close();
  const policies = Array.isArray(body) ? body : body.policies ?? body.items ?? [];
  if (!policies.length) throw new Error('the tenant has no policy to open in the editor');
  return `/policies/${policies[0].id}`;
}

const bank = 'admin@meridian-bank.example';
const owner = 'owner@charter.example';
const pages = [
  ['login', null, '/login'],
  ['dashboard (platform)', owner, '/'],
  ['dashboard (tenant)', bank, '/'],
  ['policies', bank, '/policies'],
  ['editor (new policy)', bank, '/policies/new'],
  ['editor (a policy)', bank, await firstPolicyPath(bank)],
  ['previewer', bank, '/preview'],
  ['tools', bank, '/tools'],
  ['receipts', bank, '/receipts'],
  ['approvals', bank, '/approvals'],
  ['releases', owner, '/releases'],
];

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;

console.log(`${LOADS} cold loads per page against ${BASE}, on the loopback and over a 20 Mbit/s line with 40 ms round trips;`);
console.log('median time from navigation start to interactive (min–max)\n');
console.log('| page | wasm files | wasm raw | wasm gzip -9 | wasm sent | JS raw | interactive | over the line |');
console.log('|---|---|---|---|---|---|---|---|');
const spread = (times) => `${median(times).toFixed(0)} ms (${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)})`;
for (const [name, user, path] of pages) {
  await load(user, path); // Warms the server's own caches; the browser's cache is new each load.
  const runs = [];
  const slow = [];
  for (let i = 0; i < LOADS; i += 1) {
    runs.push(await load(user, path));
    slow.push(await load(user, path, OFFICE_LINE));
  }
  const last = runs[runs.length - 1];
  const interactive = spread(runs.map((run) => run.interactive));
  const overTheLine = spread(slow.map((run) => run.interactive));
  console.log(`| ${name} | ${last.wasmFiles} | ${kb(last.wasmRaw)} | ${kb(last.wasmGzip)} | ${kb(last.wasmSent)} | ${kb(last.jsRaw)} | ${interactive} | ${overTheLine} |`);
}
await browser.close();
