/**
 * The built package works as users install it: `npm pack`, unpacked into a fresh project whose
 * dependencies are this checkout's, then loaded with both `import` and `require` in a separate
 * Node process (no vitest transforms), which trains nothing but must take a gradient on wasm.
 */
import { execFileSync, spawnSync } from 'node:child_process';
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
    const files = execFileSync(
      'tar',
      [
        '-tzf',
        join(
          project,
          readdirSync(project).find((f) => f.endsWith('.tgz'))!,
        ),
      ],
      {
        encoding: 'utf8',
      },
    );
    for (const f of [
      'dist/index.js',
      'dist/index.cjs',
      'dist/index.d.ts',
      'dist/index.d.cts',
      'dist/cli.js',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'package.json',
    ]) {
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

  // The documented GPU example (docs/backends.md, docs/training.md) with webgpu and
  // @tensorflow/tfjs-backend-webgpu installed beside dlvm: Dawn's software OpenGL ES adapter
  // here. The same script on cpu must give the same figures within float32 tolerance.
  const gpuScript = `
import * as dlvm from 'dlvm';
const info = await dlvm.initBackend();
dlvm.manualSeed(0);
const u = (() => { let s = 1; return () => ((s = (s * 16807) % 2147483647) / 2147483647); })();
const values = Float32Array.from({ length: 64 * 16 }, () => (u() < 0.4 ? 1 : 0));
const data = new dlvm.ArrayDataset({ values, itemShape: [16], name: 'bits' });
const vae = dlvm.VAE.mlp({ inputShape: [16], latentDim: 2, hidden: [8] });
const { history } = await dlvm.fit(vae, data, { epochs: 2, batchSize: 16, seed: 0, validationData: data, progress: false, log: () => {} });
const { elbo } = await dlvm.evaluateElbo(vae, data, { seed: 1 });
const iwae = await dlvm.iwaeLogLikelihood(vae, data, { k: 10, seed: 2 });
const png = await dlvm.sampleGrid(vae, { n: 4, mean: true, seed: 3 });
const raster = await dlvm.decodePng(png);
console.log(JSON.stringify({ backend: info.name, software: info.adapter?.software, loss: history.at(-1).loss, elbo, iwae, pixels: Array.from(raster.data.slice(0, 400)) }));
`;

  it('trains, evaluates and draws on webgpu with the optional packages, as on cpu (ESM, plain Node)', () => {
    writeFileSync(join(project, 'gpu.mjs'), gpuScript);
    const runOn = (env: Record<string, string>) => {
      const out = execFileSync(process.execPath, ['gpu.mjs'], { cwd: project, encoding: 'utf8', env: { ...process.env, ...env } });
      return JSON.parse(out.trim().split('\n').pop()!);
    };
    const gpu = runOn({ DLVM_BACKEND: 'webgpu', DLVM_DAWN_FLAGS: process.env['DLVM_DAWN_FLAGS'] ?? 'backend=opengles' });
    const cpu = runOn({ DLVM_BACKEND: 'cpu' });
    expect(gpu.backend).toBe('webgpu');
    expect(cpu.backend).toBe('cpu');
    for (const key of ['loss', 'elbo', 'iwae'] as const) {
      expect(Math.abs(gpu[key] - cpu[key]), key).toBeLessThan(1e-4 * (1 + Math.abs(cpu[key])));
    }
    const worst = Math.max(...gpu.pixels.map((p: number, i: number) => Math.abs(p - cpu.pixels[i])));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('dlvm train --backend webgpu gives the cpu run', () => {
    const cli = join(project, 'node_modules', 'dlvm', 'dist', 'cli.js');
    const train = (backend: string) => {
      const out = join(project, `run-${backend}`);
      const r = spawnSync(
        process.execPath,
        [
          cli,
          'train',
          '--dataset',
          'toy2d',
          '--toy',
          'square',
          '--limit',
          '400',
          '--epochs',
          '2',
          '--batch-size',
          '50',
          '--hidden',
          '8',
          '--latent-dim',
          '2',
          '--seed',
          '0',
          '--backend',
          backend,
          '--out',
          out,
        ],
        {
          cwd: project,
          encoding: 'utf8',
          env: { ...process.env, DLVM_DAWN_FLAGS: process.env['DLVM_DAWN_FLAGS'] ?? 'backend=opengles' },
        },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`backend: ${backend}`));
      return JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as Array<{ loss: number }>;
    };
    const gpu = train('webgpu');
    const cpu = train('cpu');
    expect(gpu.length).toBe(cpu.length);
    gpu.forEach((r, i) => expect(Math.abs(r.loss - cpu[i]!.loss)).toBeLessThan(1e-3 * (1 + Math.abs(cpu[i]!.loss))));
  });

  // The README's TypeScript examples, copied into the downstream project as its user would, with
  // the one documented setup (docs/install.md): "strict" on, NodeNext modules. TypeScript 5.9
  // checks every declaration (no skipLibCheck: dlvm's types import only tfjs-core); TypeScript 7
  // needs skipLibCheck for errors inside tfjs-core's own declarations (its @webgpu/types
  // reference collides with TypeScript 7's DOM types). Then each example runs.
  it("the README's examples typecheck under --strict with TypeScript 5.9 and 7, and run", () => {
    const dir = join(project, 'readme');
    mkdirSync(dir, { recursive: true });
    const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const files = blocks.map((code, i) => {
      writeFileSync(join(dir, `example${i + 1}.ts`), code);
      return `example${i + 1}.ts`;
    });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const config = (skipLibCheck: boolean, emit: boolean) => ({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        types: [],
        skipLibCheck,
        ...(emit ? { outDir: 'out' } : { noEmit: true }),
      },
      files,
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config(false, true)));
    writeFileSync(join(dir, 'tsconfig.ts7.json'), JSON.stringify(config(true, false)));
    const tsc = (pkg: string, tsconfig: string) =>
      spawnSync(process.execPath, [join(project, 'node_modules', pkg, 'bin', 'tsc'), '-p', tsconfig], { cwd: dir, encoding: 'utf8' });
    const ts59 = tsc('typescript', 'tsconfig.json');
    expect(ts59.stdout + ts59.stderr, 'TypeScript 5.9, no skipLibCheck').toBe('');
    expect(ts59.status).toBe(0);
    const ts7 = tsc('typescript7', 'tsconfig.ts7.json');
    expect(ts7.stdout + ts7.stderr, 'TypeScript 7').toBe('');
    expect(ts7.status).toBe(0);
    expect(tsc('typescript7', 'tsconfig.ts7.json').status).toBe(0);
    for (const f of files) {
      const r = spawnSync(process.execPath, [join('out', f.replace(/\.ts$/, '.js'))], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, DLVM_BACKEND: 'wasm' },
        timeout: 300_000,
      });
      expect(r.status, `${f}: ${r.stderr}`).toBe(0);
      expect(r.stdout.length, f).toBeGreaterThan(0);
    }
    expect(readFileSync(join(dir, 'samples.png')).length).toBeGreaterThan(1000);
  }, 600_000);

  it('runs the dlvm command from the installed package', () => {
    const out = execFileSync(process.execPath, [join(project, 'node_modules', 'dlvm', 'dist', 'cli.js'), '--version'], { cwd: project, encoding: 'utf8' });
    expect(out.trim()).toBe(pkgVersion);
  });
});
