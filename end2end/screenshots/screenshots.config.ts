import { defineConfig } from '@playwright/test';
import base from '../playwright.config';

// The screenshot run: the suite's browser settings, its own folder, a desktop-sized window.
export default defineConfig({
  ...base,
  testDir: '.',
  globalSetup: '../global-setup.ts',
  use: { ...base.use, viewport: { width: 1440, height: 900 }, screenshot: 'off', trace: 'off' },
});
