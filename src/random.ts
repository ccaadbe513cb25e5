/**
 * Seeded randomness for dlvm.
 *
 * tfjs random ops take an optional integer seed per call and otherwise draw from an unseeded
 * generator. `manualSeed(s)` (torch's `torch.manual_seed`) makes every later dlvm sampler
 * reproducible: each call takes the next seed of a stream derived from `s`. Every distribution
 * samples on the device with seeded tfjs ops; host-side randomness (dynamic binarisation of
 * datasets) draws from {@link uniformSource}, which follows the same seed.
 */
import { argError } from './errors.js';

let state: number | null = null;

/** One Mulberry32 output for the 32-bit state `s` (already advanced). */
function mix(s: number): number {
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** Mulberry32, a small seeded PRNG: a function returning uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let local = seed >>> 0;
  return () => {
    local = (local + 0x6d2b79f5) >>> 0;
    return mix(local) / 4294967296;
  };
}

/** Advances the global stream and returns a 32-bit unsigned integer. */
function nextUint32(): number {
  state = ((state ?? 0) + 0x6d2b79f5) >>> 0;
  return mix(state);
}

/**
 * Seeds every dlvm sampler, as `torch.manual_seed` does. Pass `null` to return to unseeded draws.
 *
 * @example
 * manualSeed(0);
 * const a = new Normal(0, 1).sample([3]);
 * manualSeed(0);
 * const b = new Normal(0, 1).sample([3]); // same values as a
 */
export function manualSeed(seed: number | null): void {
  if (seed === null) {
    state = null;
    return;
  }
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw argError('manualSeed', 'seed', 'an integer or null', seed);
  }
  state = seed >>> 0;
}

/** The seed for the next tfjs random op: undefined (unseeded) unless `manualSeed` was called. */
export function nextSeed(): number | undefined {
  return state === null ? undefined : nextUint32();
}

/** A source of uniform numbers in [0, 1) for host-side randomness (following `manualSeed`). */
export function uniformSource(): () => number {
  if (state === null) return Math.random;
  return mulberry32(nextUint32());
}

/**
 * xoshiro128** (Blackman and Vigna), 128 bits of state: uniform numbers in [0, 1) for long runs
 * of host draws. Mulberry32's 32-bit state is one Weyl sequence, so generators seeded per batch
 * would overlap: a CS236 training run draws 1.5e9 binarisation values, a third of its period.
 */
export function xoshiro128(a: number, b: number, c: number, d: number): () => number {
  let [s0, s1, s2, s3] = [a >>> 0, b >>> 0, c >>> 0, d >>> 0];
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the one state it never leaves
  const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result / 4294967296;
  };
}

/**
 * A long stream of uniform numbers in [0, 1) for bulk host-side draws (dynamic binarisation of a
 * batch): xoshiro128** seeded from dlvm's stream under `manualSeed`, else `Math.random`.
 */
export function uniformStream(): () => number {
  if (state === null) return Math.random;
  return xoshiro128(nextUint32(), nextUint32(), nextUint32(), nextUint32());
}

/**
 * Runs `body` with dlvm's samplers seeded by `seed` (when given), then puts back the stream that
 * was there before (the user's `manualSeed` stream continues where it was, or draws stay
 * unseeded), as torch's `fork_rng` does; when `body` returns a promise, once it settles (other
 * sampling meanwhile draws from the seeded stream).
 */
export function withSeed<T>(seed: number | undefined, body: () => T): T {
  if (seed === undefined) return body();
  const saved = state;
  const restore = () => {
    state = saved;
  };
  manualSeed(seed);
  let result: T;
  try {
    result = body();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
