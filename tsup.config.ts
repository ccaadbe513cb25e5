import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  // tfjs packages and optional peers stay external: one tfjs-core instance per app.
  external: [/^@tensorflow\//, /^node:/],
});
