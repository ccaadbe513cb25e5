import { defineConfig } from 'vitest/config';

// Browser tests: `npm run test:browser` (needs Chromium; see test/browser/harness.ts).
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
