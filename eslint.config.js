// ESLint (flat config): typescript-eslint's recommended rules, no import cycles, and the layer
// order of docs/architecture.md; formatting is Prettier's (`npm run lint` checks both).
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** `no-restricted-imports` patterns that forbid importing the given top-level folders of src/. */
const forbid = (...folders) => ({
  'no-restricted-imports': [
    'error',
    { patterns: folders.map((f) => ({ group: [`**/${f}/*`, `**/${f}`], message: `layer order (docs/architecture.md): this folder does not import ${f}/` })) },
  ],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**', 'examples/lab/dist/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Deliberate: unused arguments keep documented signatures; `_` marks the rest.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
    // Parses the imported TypeScript files, and resolves './x.js' to x.ts as TypeScript does.
    settings: { ...importX.flatConfigs.typescript.settings, 'import-x/resolver-next': [createTypeScriptImportResolver()] },
  },
  // The layers: a folder imports nothing from the folders above it.
  { files: ['src/math/**/*.ts'], rules: forbid('distributions', 'data', 'models', 'baselines', 'evaluation', 'pictures', 'training', 'cli', 'kernels') },
  { files: ['src/distributions/**/*.ts'], rules: forbid('data', 'models', 'baselines', 'evaluation', 'pictures', 'training', 'cli', 'kernels') },
  { files: ['src/data/**/*.ts'], rules: forbid('distributions', 'models', 'baselines', 'evaluation', 'pictures', 'training', 'cli') },
  { files: ['src/backend/**/*.ts'], rules: forbid('distributions', 'data', 'models', 'baselines', 'evaluation', 'pictures', 'training', 'cli') },
  { files: ['src/models/**/*.ts', 'src/baselines/**/*.ts'], rules: forbid('evaluation', 'pictures', 'training', 'cli') },
  { files: ['src/evaluation/**/*.ts', 'src/pictures/**/*.ts'], rules: forbid('training', 'cli') },
  { files: ['src/training/**/*.ts'], rules: forbid('cli') },
);
