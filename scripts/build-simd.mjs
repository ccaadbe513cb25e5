/**
 * Builds dlvm's wasm SIMD kernels (src/backend/kernels/simd/kernels.c) with Debian's clang 19 and
 * wasm-ld (`apt-get install clang-19 lld-19`; $CLANG picks another), in two variants, for the two kinds of memory
 * tfjs-backend-wasm runs on: a plain one, and a shared one for its threaded build. Checks that
 * each module imports only `env.memory`, has no data, start or memory-initialising code (it is
 * instantiated on the backend's own heap and must write nothing there), and writes both as
 * base64 into src/backend/kernels/simd/module.ts, which is committed: building dlvm needs no
 * clang. Run: `npm run build:simd`.
 *
 * Clang 19, not Debian's default clang 14: clang 14 leaves the constant offsets of
 * `v128.load32_splat` out of the instruction (an `i32.add` each), and V8 then spends an address
 * computation on each of the matrix product's splat loads; with the offsets folded the product runs
 * 20-30% faster here. `-mcpu=mvp` keeps the module to the features clang 14 emitted (plus SIMD,
 * and atomics and bulk memory for the shared variant), so it runs wherever the old one did.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'backend', 'kernels', 'simd');
const source = path.join(dir, 'kernels.c');
const CLANG = process.env.CLANG ?? 'clang-19';
const common = ['--target=wasm32', '-mcpu=mvp', '-O3', '-msimd128', '-nostdlib', '-fno-builtin', '-Wall', '-Werror', '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--strip-all'];
const variants = {
  plain: [],
  // tfjs's threaded build declares 4 GiB (65536 pages) as its maximum; an import must not declare less.
  shared: ['-matomics', '-mbulk-memory', '-Wl,--shared-memory', '-Wl,--max-memory=4294967296'],
};
const EXPORTS = ['adam_update', 'bernoulli_log_prob', 'bernoulli_log_prob_grad_logits', 'matmul_workspace_bytes', 'matmul', 'matmul_chunks', 'im2col', 'col2im', 'transpose', 'reduce_sum', 'relu', 'bernoulli_log_prob_sum', 'relu_grad'];

/** Section ids of a wasm binary, in order. */
function sections(bytes) {
  const ids = [];
  let p = 8;
  const leb = () => {
    let r = 0;
    let s = 0;
    let b;
    do {
      b = bytes[p++];
      r |= (b & 0x7f) << s;
      s += 7;
    } while (b & 0x80);
    return r;
  };
  while (p < bytes.length) {
    ids.push(bytes[p++]);
    const length = leb(); // before p is read again
    p += length;
  }
  return ids;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlvm-simd-'));
const out = {};
try {
  for (const [name, flags] of Object.entries(variants)) {
    const file = path.join(tmp, `${name}.wasm`);
    execFileSync(CLANG, [...common, ...flags, '-o', file, source], { stdio: 'inherit' });
    // No function may use the shadow stack: it would live in (and overwrite) tfjs's heap.
    const assembly = execFileSync(
      CLANG,
      [...common.filter((f) => !f.startsWith('-Wl,')), ...flags.filter((f) => !f.startsWith('-Wl,')), '-S', '-o', '-', source],
      {
        encoding: 'utf8',
      },
    );
    if (assembly.includes('__stack_pointer')) throw new Error(`${name}: the code uses the shadow stack (__stack_pointer)`);
    const bytes = readFileSync(file);
    const module = new WebAssembly.Module(bytes);
    const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`);
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    const ids = sections(bytes);
    // 8 start, 11 data, 12 data count: anything that would run or write at instantiation.
    if (ids.some((id) => id === 8 || id === 11 || id === 12)) throw new Error(`${name}: the module has a start or data section (${ids})`);
    if (imports.join() !== 'env.memory:memory') throw new Error(`${name}: imports ${imports}, expected only env.memory`);
    if (exports.join() !== EXPORTS.join()) throw new Error(`${name}: exports ${exports}, expected ${EXPORTS}`);
    out[name] = bytes.toString('base64');
    console.log(`${name}: ${bytes.length} bytes, sections ${ids.join(' ')}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const clang = execFileSync(CLANG, ['--version'], { encoding: 'utf8' }).split('\n')[0];
const target = path.join(dir, 'module.ts');
writeFileSync(
  target,
  `/**
 * dlvm's wasm SIMD kernels (kernels.c), built by scripts/build-simd.mjs with ${clang}.
 * Generated: edit kernels.c and run \`npm run build:simd\`.
 */

/** For tfjs-backend-wasm's plain memory. */
export const SIMD_MODULE_PLAIN = '${out.plain}';

/** For the shared memory of its threaded build. */
export const SIMD_MODULE_SHARED = '${out.shared}';
`,
);
// In the repository's format, so `npm run lint` passes on the generated file.
execFileSync(path.join(dir, '..', '..', '..', '..', 'node_modules', '.bin', 'prettier'), ['--write', target], { stdio: 'inherit' });
