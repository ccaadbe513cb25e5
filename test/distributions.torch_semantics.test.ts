/**
 * Semantics where dlvm once differed from torch (issue 14): unnormalised Categorical probs (torch
 * divides by the sum; values from torch 1.13), infinite Bernoulli logits (the exact limits of
 * probs 0 and 1; torch 1.13 itself returns NaN for inf - inf), and the logProb of a value that is
 * not a class with validation off (NaN, never the probability of another class).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Bernoulli, Categorical, OneHotCategorical } from '../src/index.js';
import { expectClose, useBackend } from './helpers/backends.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const read = async (t: tf.Tensor) => {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
};

describe('torch semantics', () => {
  it('Categorical normalises unnormalised probs as torch does, and rejects what torch rejects', async () => {
    const before = tf.memory().numTensors;
    // torch 1.13: Categorical(probs=tensor([1., 2., 5.])).probs = [0.125, 0.25, 0.625];
    // log_prob(2) = log(0.625) = -0.4700036292457356.
    const c = new Categorical({ probs: [1, 2, 5] });
    expectClose(await c.probs.data(), [0.125, 0.25, 0.625], { rtol: 1e-6, label: 'probs' });
    expectClose(await read(c.logProb(2)), [-0.4700036292457356], { rtol: 1e-6, label: 'logProb' });
    c.dispose();
    const oh = new OneHotCategorical({
      probs: [
        [2, 2],
        [0, 3],
      ],
    });
    expectClose(await oh.probs.data(), [0.5, 0.5, 0, 1], { rtol: 1e-6, label: 'one-hot probs' });
    oh.dispose();
    expect(() => new Categorical({ probs: [0.5, -0.1, 0.6] })).toThrow(/Categorical: argument 'probs' .*Simplex\(\) once normalised/);
    expect(() => new Categorical({ probs: [0, 0, 0] })).toThrow(/Categorical: argument 'probs' .*Simplex\(\) once normalised/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('Bernoulli with infinite logits: the limits of probs 1 and 0 (logProb 0 or -inf, entropy 0), not NaN', async () => {
    const before = tf.memory().numTensors;
    const b = new Bernoulli({ logits: [Infinity, -Infinity, 0] });
    expect(await read(b.logProb([1, 1, 1]))).toEqual([0, -Infinity, Math.log(0.5)].map((v) => Math.fround(v)));
    expect(await read(b.logProb([0, 0, 0]))).toEqual([-Infinity, 0, Math.log(0.5)].map((v) => Math.fround(v)));
    expectClose(await read(b.entropy()), [0, 0, Math.log(2)], { rtol: 1e-6, atol: 0, label: 'entropy' });
    // The same as probs given as exactly 1 and 0 (torch: log_prob of probs=[1, 0] at 1 is [0, -inf] up to its clamp).
    const p = new Bernoulli({ probs: [1, 0, 0.5] });
    expectClose(await read(p.logProb([1, 0, 1])), [0, 0, Math.log(0.5)], { rtol: 1e-6, atol: 1e-6, label: 'probs' });
    b.dispose();
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('Categorical.logProb of a value that is not a class, with validation off, is NaN (was 0: probability 1)', async () => {
    const before = tf.memory().numTensors;
    const c = new Categorical({ probs: [0.2, 0.3, 0.5] }, { validateArgs: false });
    const lp = await read(c.logProb([5, -1, 1.5, 2]));
    expect(lp.slice(0, 3).every(Number.isNaN)).toBe(true);
    expectClose([lp[3]!], [Math.log(0.5)], { rtol: 1e-6, label: 'class 2' });
    c.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
