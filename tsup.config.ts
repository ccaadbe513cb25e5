import { defineConfig } from 'tsup';

const library = {
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  // The declarations (dist/index.d.ts) reference what tfjs-core's own declarations need but do
  // not import (the Long type of tfjs-core's hash_util), and load tfjs-core's chained-op types
  // (x.square(), ...) that the bundle registers at runtime; see docs/install.md.
  dts: {
    banner: '/// <reference types="long" />\n' + "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';",
  },
  sourcemap: true,
  clean: false,
  target: 'es2022',
  platform: 'node',
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
  // Keep class and function names: messages say `Normal: argument 'scale' ...` from
  // `this.constructor.name`, and the KL registry's advice names classes (esbuild would rename
  // them `_Normal` when it hoists them).
  keepNames: true,
};

export default defineConfig([
  // ESM without tsup's shims: they import Node's `path` and `url` at the top of the bundle, which a
  // browser bundler (Vite's dev server) refuses, and the ESM build does not use them.
  library as never,
  // CommonJS with them: the shims give `import.meta.url` a value there (createRequire uses it).
  { ...library, format: ['cjs'], shims: true } as never,
  {
    // The `dlvm` command: imports the library through the package's own name, so one copy of
    // dlvm (and of its kernel registrations) runs.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'es2022',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    keepNames: true,
    external: [...library.external, 'dlvm'],
  },
]);
