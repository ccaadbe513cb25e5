import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Two projects, both in `npm test`: `unit` (fast, no build, no training on MNIST: about a
 * minute, `npm run test:unit`) and `integration` (the built package, the CLI, training runs, the
 * fault suite, the WebGPU suites, the slow statistical identities).
 */
const UNIT = [
  'backend',
  'bench.flops',
  'baselines',
  'data',
  'distributions.empty',
  'distributions.errors',
  'distributions.fixtures',
  'distributions.torch_semantics',
  'evaluation',
  'hierarchical',
  'idx',
  'kernels',
  'kernels.bernoulli',
  'kernels.nan',
  'kernels.simd',
  'lab.errors',
  'leaks',
  'models.shapes',
  'optimizer',
  'parts',
  'pending_checks',
  'persistence',
  'pictures',
  'special',
  'training',
  'transforms',
].map((name) => `test/${name}.test.ts`);

const shared = {
  // tfjs keeps global engine state; one process per test file keeps backends apart.
  pool: 'forks' as const,
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  resolve: {
    // Tests import the sources; examples and benchmarks say 'dlvm' as users do.
    alias: { dlvm: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT, ...shared } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Browser tests need Chromium and run with `npm run test:browser` (vitest.browser.config.ts).
          exclude: [...UNIT, 'test/browser/**', '**/node_modules/**'],
          // dist/ is built once here; package.test.ts, cli.test.ts and first_hour.test.ts use it.
          globalSetup: ['test/helpers/build.ts'],
          ...shared,
        },
      },
    ],
  },
});
