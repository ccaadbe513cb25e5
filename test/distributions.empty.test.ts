/**
 * Empty tensors (a 0 in a batch or event shape) as torch.distributions 1.13 takes them (issue 14):
 * every family builds, logProb / sample / rsample / entropy / mean / variance / cdf / KL give
 * torch's shapes, a sum over an empty event is 0, and the argument checks pass (the conjunction of
 * no values is true; tfjs's `all` gives false there). The fixture is test/fixtures/torch_empty.json,
 * written by scripts/fixtures/torch_empty.py. Where torch 1.13 itself raises (its constraint checks
 * and `_sum_rightmost` cannot reshape some empty tensors: "cannot reshape tensor of 0 elements"),
 * dlvm gives the result the math defines: the batch shape, with no values.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkArgs, klDivergence, Normal } from '../src/index.js';
import { allTrue } from '../src/math/ops.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { build, type Spec } from './helpers/fixtures.js';

/** A parameter as the fixture gives it: a tensor of `shape` filled with `fill` (+ I when `eye`). */
interface Param {
  shape: number[];
  fill: number;
  eye?: boolean;
}
/** A tensor result: its shape and values, or torch's error (and its result without validation). */
type Result = { shape: number[]; values: number[] } | { error: string; uncheckedShape?: number[]; uncheckedValues?: number[] } | null;
interface EmptyCase {
  name: string;
  spec: RawSpec;
  torchError?: string;
  batchShape: number[];
  eventShape: number[];
  value: Param;
  logProb: Result;
  sample: number[];
  rsample: number[] | null;
  entropy: Result;
  mean: Result;
  variance: Result;
  cdf: Result;
}
interface RawSpec {
  family: string;
  args: Record<string, unknown>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch_empty.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: EmptyCase[];
  kl: Array<{ name: string; p: RawSpec; q: RawSpec; kl: Result }>;
};

const isParam = (v: unknown): v is Param => typeof v === 'object' && v !== null && Array.isArray((v as Param).shape) && typeof (v as Param).fill === 'number';

function tensorOf(p: Param): tf.Tensor {
  return tf.tidy(() => (p.eye ? tf.add(tf.fill(p.shape, p.fill), tf.eye(p.shape[p.shape.length - 1]!)) : tf.fill(p.shape, p.fill)));
}

/** The fixture's spec with every parameter made a device tensor (checked on the device, as in a model). */
function toSpec(raw: RawSpec, made: tf.Tensor[]): Spec {
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw.args)) {
    if (isParam(v)) {
      const t = tensorOf(v);
      made.push(t);
      args[k] = t;
    } else if (typeof v === 'object' && v !== null && 'family' in v) {
      args[k] = toSpec(v as RawSpec, made);
    } else {
      args[k] = v;
    }
  }
  return { family: raw.family, args };
}

/** The shape and values to expect: torch's, or where torch 1.13 raises, the math's (`fallback` shape, no values). */
function expected(r: Exclude<Result, null>, fallback: number[]): { shape: number[]; values: number[] } {
  if ('shape' in r) return r;
  return { shape: r.uncheckedShape ?? fallback, values: r.uncheckedValues ?? [] };
}

async function expectResult(label: string, t: tf.Tensor, r: Exclude<Result, null>, fallback: number[]): Promise<void> {
  const want = expected(r, fallback);
  expect(t.shape, `${label}: shape`).toEqual(want.shape);
  expect(Array.from(await t.data()), `${label}: values`).toEqual(want.values);
  t.dispose();
}

describe.each([...BACKENDS, 'webgpu' as const])('empty tensors as torch takes them, on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await checkArgs();
    const before = tf.memory().numTensors;
    const made: tf.Tensor[] = [];
    const d = build(toSpec(c.spec, made));
    expect(d.batchShape).toEqual(c.batchShape);
    expect(d.eventShape).toEqual(c.eventShape);
    const x = tensorOf(c.value);
    await expectResult('logProb', d.logProb(x), c.logProb!, c.batchShape);
    const s = d.sample([2]);
    expect(s.shape).toEqual(c.sample);
    s.dispose();
    // dlvm reparameterises where torch does (and univariate mixtures, which torch does not).
    if (c.rsample !== null) expect(d.hasRsample, 'hasRsample as torch').toBe(true);
    if (d.hasRsample) {
      const r = d.rsample([2]);
      expect(r.shape).toEqual(c.sample);
      r.dispose();
    }
    const event = [...c.batchShape, ...c.eventShape];
    if (c.entropy !== null) await expectResult('entropy', d.entropy(), c.entropy, c.batchShape);
    if (c.mean !== null) await expectResult('mean', d.mean, c.mean, event);
    if (c.variance !== null) await expectResult('variance', d.variance, c.variance, event);
    if (c.cdf !== null) await expectResult('cdf', d.cdf(x), c.cdf, c.batchShape);
    // The argument checks of the empty parameters and values pass.
    await expect(checkArgs()).resolves.toBeUndefined();
    x.dispose();
    d.dispose();
    tf.dispose(made);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(fixture.kl.map((k) => [k.name, k] as const))('KL(%s)', async (_name, k) => {
    const before = tf.memory().numTensors;
    const made: tf.Tensor[] = [];
    const p = build(toSpec(k.p, made));
    const q = build(toSpec(k.q, made));
    await expectResult('kl', klDivergence(p, q), k.kl!, p.batchShape);
    await expect(checkArgs()).resolves.toBeUndefined();
    tf.dispose(made);
    p.dispose();
    q.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('host values: an empty array is a batch of 0, checked on the host', async () => {
    const before = tf.memory().numTensors;
    const d = new Normal([], 1);
    expect(d.batchShape).toEqual([0]);
    const lp = d.logProb([]);
    expect(lp.shape).toEqual([0]);
    lp.dispose();
    d.dispose();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a parameter is checked once broadcast to the batch, as torch does: a bad value broadcast to no values is no error', async () => {
    // torch 1.13: Normal(torch.zeros(0, 1), torch.tensor([-1.])) is accepted, batch [0, 1].
    const before = tf.memory().numTensors;
    const scale = tf.tensor1d([-1]);
    const [none, one] = [tf.zeros([0, 1]), tf.zeros([1, 1])];
    const d = new Normal(none, scale);
    expect(d.batchShape).toEqual([0, 1]);
    await expect(checkArgs()).resolves.toBeUndefined();
    d.dispose();
    // The same value in a batch of one is refused.
    const bad = new Normal(one, scale);
    await expect(checkArgs()).rejects.toThrow(
      /^Normal: argument 'scale' \(Tensor of shape \[1, 1\]\) must satisfy the constraint GreaterThan\(lower_bound=0\), but found invalid values -1\.$/,
    );
    bad.dispose();
    tf.dispose([scale, none, one]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('allTrue: the conjunction of no values is true, over all axes or some (tf.all gives false)', async () => {
    const read = async (t: tf.Tensor) => {
      const v = { shape: t.shape, values: Array.from(await t.data()) };
      t.dispose();
      return v;
    };
    const e = tf.zeros([2, 0], 'bool');
    expect(await read(allTrue(e))).toEqual({ shape: [], values: [1] });
    expect(await read(allTrue(e, -1))).toEqual({ shape: [2], values: [1, 1] });
    expect(await read(allTrue(e, 1, true))).toEqual({ shape: [2, 1], values: [1, 1] });
    expect(await read(allTrue(e, 0))).toEqual({ shape: [0], values: [] });
    const f = tf.tensor2d(
      [
        [true, false],
        [true, true],
      ],
      undefined,
      'bool',
    );
    expect(await read(allTrue(f, -1))).toEqual({ shape: [2], values: [0, 1] });
    tf.dispose([e, f]);
  });
});
