/**
 * The built package works as users install it: `npm pack`, unpacked into a fresh project whose
 * dependencies are this checkout's, then loaded with both `import` and `require` in a separate
 * Node process (no vitest transforms), which trains nothing but must take a gradient on wasm.
 */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const pkgVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
let project = '';

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'dlvm-pack-'));
  // dist/ is built by the global setup (test/helpers/build.ts); packing must not rebuild it while
  // other test files use it.
  const tgz = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', project], {
    cwd: root,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop()!;
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, 'dlvm'), { recursive: true });
  execFileSync('tar', ['-xzf', join(project, tgz), '-C', join(modules, 'dlvm'), '--strip-components=1']);
  // dlvm's dependencies (and theirs, hoisted) resolve from the project's node_modules, as after
  // `npm install dlvm`: link every package of this checkout's node_modules.
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry === '.bin' || entry.startsWith('.') || entry === 'dlvm') continue;
    symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
}, 180_000);

const script = (loader: string) => `
${loader}
(async () => {
  const info = await dlvm.initBackend('wasm');
  const x = tf.tensor1d([1, 2, 3]);
  const g = tf.grad((v) => v.square().sum())(x);
  // The KL pairs register at import time (sideEffects): they must survive bundling.
  const kl = dlvm.klDivergence(new dlvm.Normal(0, 1), new dlvm.Normal(1, 1)).dataSync()[0];
  // Gradients through a branching special function need dlvm's zero gradients for comparisons.
  const dg = tf.grad((a) => new dlvm.Gamma(a, 1).logProb(0.5))(tf.scalar(0.7)).dataSync()[0];
  // Charts load vega, vega-lite (ESM only) and resvg lazily: also from the CommonJS build.
  const png = await dlvm.scatterChart([{ x: 0, y: 0 }, { x: 1, y: 1 }], { title: 'packed' });
  console.log(JSON.stringify({ version: dlvm.VERSION, backend: info.name, threads: info.threads, grad: Array.from(g.dataSync()), kl, gammaGradFinite: Number.isFinite(dg), chartBytes: png.length }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('the packed package', () => {
  it('contains dist, types, README, CHANGELOG and LICENSE only', () => {
    const files = execFileSync('tar', ['-tzf', join(project, readdirSync(project).find((f) => f.endsWith('.tgz'))!)], {
      encoding: 'utf8',
    });
    for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/cli.js', 'README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']) {
      expect(files).toContain(`package/${f}`);
    }
    expect(files).not.toMatch(/package\/(src|test|bench)\//);
  });

  it('imports only its declared dependencies, peer dependencies and Node built-ins', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    for (const file of ['index.js', 'index.cjs']) {
      const code = readFileSync(join(project, 'node_modules', 'dlvm', 'dist', file), 'utf8');
      const specs = [...code.matchAll(/(?:from\s+|import\(\s*|require\(\s*)["']([^"'.][^"']*)["']/g)].map((m) => m[1]!);
      const packages = new Set(specs.map((sp) => (sp.startsWith('@') ? sp.split('/').slice(0, 2).join('/') : sp.split('/')[0]!)));
      const undeclared = [...packages].filter((p) => !builtinModules.includes(p.replace(/^node:/, '')) && !declared.has(p));
      expect(undeclared, file).toEqual([]);
      expect(packages.size).toBeGreaterThan(3);
    }
  });

  it.each([
    ['ESM import', 'm.mjs', "import * as dlvm from 'dlvm'; import * as tf from '@tensorflow/tfjs-core';"],
    ['CommonJS require', 'c.cjs', "const dlvm = require('dlvm'); const tf = require('@tensorflow/tfjs-core');"],
  ])('works with %s in plain Node', (_name, file, loader) => {
    writeFileSync(join(project, file), script(loader));
    const out = execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result).toMatchObject({ version: pkgVersion, backend: 'wasm', grad: [2, 4, 6], kl: 0.5, gammaGradFinite: true });
    expect(result.threads).toBeGreaterThanOrEqual(1);
    expect(result.chartBytes).toBeGreaterThan(1000);
  });

  it('runs the dlvm command from the installed package', () => {
    const out = execFileSync(process.execPath, [join(project, 'node_modules', 'dlvm', 'dist', 'cli.js'), '--version'], { cwd: project, encoding: 'utf8' });
    expect(out.trim()).toBe(pkgVersion);
  });
});
