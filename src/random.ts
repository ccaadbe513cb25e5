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
