import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests import the sources; examples and benchmarks say 'dlvm' as users do.
    alias: { dlvm: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // dist/ is built once here; package.test.ts and cli.test.ts use it.
    globalSetup: ['test/helpers/build.ts'],
    // Browser tests need Chromium and run with `npm run test:browser` (vitest.browser.config.ts).
    exclude: ['test/browser/**', '**/node_modules/**'],
    // tfjs keeps global engine state; one process per test file keeps backends apart.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
