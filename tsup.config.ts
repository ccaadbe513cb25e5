import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  shims: true,
  // The tfjs packages stay external: one tfjs-core instance per application.
  external: [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-layers',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
  ],
  // ...except tfjs-core's gradient and chained-op registrations: they ship only as ES modules
  // inside dist/, which Node cannot load from tfjs-core's CommonJS entry. Bundled, they register
  // into tfjs's global registries (shared across copies by design), as tfjs-layers' own bundle does.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
