/**
 * `npm run bench:kernels`: the time of one call of each of dlvm's fused kernels on wasm, in its
 * three forms: tfjs's stock ops (the composite it replaces), the JavaScript loop (what runs
 * without wasm SIMD, and on cpu) and the SIMD kernel (simd/kernels.c). Median of 40 calls after
 * warm-up, at the sizes the presets produce: Adam per variable size (the CS236 VAE has variables
 * of 300 to 235,200 elements), the Bernoulli log-density and its gradient at a CS236 batch (97 x
 * 784) and an IWAE-100 chunk (10,000 x 784). Options: --threads N (default 1).
 */
import * as tf from '@tensorflow/tfjs-core';
import { adam, disableSimdKernels, initBackend, restoreStockKernels, registerDlvmKernels } from 'dlvm';

const args = process.argv.slice(2);
const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : 1;

async function median(f: () => void, reps = 40): Promise<number> {
  for (let i = 0; i < 5; i++) f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(reps / 2)]!;
}

type Form = 'ops' | 'loop' | 'simd';
async function inForm<T>(form: Form, f: () => Promise<T>): Promise<T> {
  if (form === 'ops') restoreStockKernels();
  const was = disableSimdKernels(form !== 'simd');
  try {
    return await f();
  } finally {
    disableSimdKernels(was);
    registerDlvmKernels();
  }
}

function randomTensor(shape: number[], scale = 1): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 7), scale));
}

async function adamUpdate(size: number): Promise<number> {
  const v = tf.variable(randomTensor([size]), true, `bench/adam${size}`);
  const g = randomTensor([size], 0.1);
  const opt = adam(1e-3);
  const ms = await median(() => opt.applyGradients({ [v.name]: g }));
  opt.dispose();
  tf.dispose([v, g]);
  return ms;
}

async function bernoulli(rows: number, withGrad: boolean): Promise<number> {
  const { Bernoulli } = await import('dlvm');
  const l = randomTensor([rows, 784], 3);
  const x = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([rows, 784], 0, 1, 'float32', 3), 0.5), 'float32'));
  // No argument validation: it queues checks a training loop awaits (fit does), and is not the kernel.
  const f = (logits: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const d = new Bernoulli({ logits }, { validateArgs: false });
      const lp = tf.sum(d.logProb(x));
      d.dispose();
      return lp;
    });
  const grad = tf.grad(f);
  const ms = await median(() => tf.dispose(withGrad ? grad(l) : f(l)));
  tf.dispose([l, x]);
  return ms;
}

await initBackend('wasm', { threads });
const forms: Form[] = ['ops', 'loop', 'simd'];
const lines = [
  `wasm, ${threads} thread(s); median ms of one call`,
  '',
  '| kernel | size | tfjs ops | dlvm without SIMD | dlvm SIMD |',
  '|---|---|---|---|---|',
];
const row = async (name: string, size: string, f: () => Promise<number>): Promise<void> => {
  const t: number[] = [];
  for (const form of forms) t.push(await inForm(form, f));
  lines.push(`| ${name} | ${size} | ${t.map((v) => v.toFixed(2)).join(' | ')} |`);
};
for (const size of [300, 3000, 30_000, 90_000, 235_200]) await row('Adam update', size.toLocaleString('en-US'), () => adamUpdate(size));
for (const rows of [97, 10_000]) {
  await row('Bernoulli logProb (summed)', `${rows} x 784`, () => bernoulli(rows, false));
  await row('Bernoulli logProb + gradient', `${rows} x 784`, () => bernoulli(rows, true));
}
console.log(lines.join('\n'));
