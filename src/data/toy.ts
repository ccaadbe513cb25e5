/**
 * Toy 2-D datasets for seeing what a model does: points with a class and a tag for colouring.
 */
import { argError, positiveInteger } from '../errors.js';
import { mulberry32 } from '../random.js';
import { ArrayDataset } from './dataset.js';

/** The toy sets. */
export type ToyName = 'square' | 'rings' | 'moons' | 'pinwheel';

/** Options of {@link toyDataset}. */
export interface ToyOptions {
  /** Number of points (default 1000). */
  n?: number;
  /** Seed (default 0): the same seed gives the same points. */
  seed?: number;
  /** Noise level: std of the Gaussians (rings, default 0.1), of the moons' jitter (default 0.05). */
  noise?: number;
  /** Number of Gaussians (rings, default 8) or arms (pinwheel, default 5). */
  classes?: number;
}

/**
 * A toy 2-D dataset (itemShape [2], float32), with `labels` (the component a point came from) and
 * `tags` for colouring:
 *
 * - `'square'`: uniform on the unit square [0, 1]^2 (the AIML 425 autoencoder experiment);
 *   label and tag are the quadrant (0: x < 1/2, y < 1/2; 1: x >= 1/2, y < 1/2; 2: x < 1/2,
 *   y >= 1/2; 3: both >= 1/2).
 * - `'rings'`: a ring of `classes` Gaussians of std `noise` at radius 2; label = component.
 * - `'moons'`: scikit-learn's two interleaving half circles with Gaussian jitter; label = moon.
 * - `'pinwheel'`: `classes` curved arms (Johnson et al. 2016: radial std 0.3, tangential std
 *   0.05, rate 0.25); label = arm.
 *
 * For the non-square sets, tags equal labels.
 */
export function toyDataset(name: ToyName, options: ToyOptions = {}): ArrayDataset {
  const fn = 'toyDataset';
  const n = options.n ?? 1000;
  positiveInteger(fn, 'options.n', n);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw argError(fn, 'options.seed', 'an integer', seed);
  const u = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const values = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  let numClasses: number;
  switch (name) {
    case 'square': {
      numClasses = 4;
      for (let i = 0; i < n; i++) {
        const x = u();
        const y = u();
        values[2 * i] = x;
        values[2 * i + 1] = y;
        labels[i] = (x >= 0.5 ? 1 : 0) + (y >= 0.5 ? 2 : 0);
      }
      break;
    }
    case 'rings': {
      numClasses = classesOption(fn, options.classes, 8);
      const sd = options.noise ?? 0.1;
      for (let i = 0; i < n; i++) {
        const k = i % numClasses;
        const angle = (2 * Math.PI * k) / numClasses;
        values[2 * i] = 2 * Math.cos(angle) + sd * normal();
        values[2 * i + 1] = 2 * Math.sin(angle) + sd * normal();
        labels[i] = k;
      }
      break;
    }
    case 'moons': {
      numClasses = 2;
      const sd = options.noise ?? 0.05;
      const outer = Math.ceil(n / 2);
      for (let i = 0; i < n; i++) {
        const moon = i < outer ? 0 : 1;
        const count = moon === 0 ? outer : n - outer;
        const j = moon === 0 ? i : i - outer;
        const t = count > 1 ? (Math.PI * j) / (count - 1) : 0;
        // scikit-learn make_moons: outer (cos t, sin t), inner (1 - cos t, 1/2 - sin t).
        values[2 * i] = (moon === 0 ? Math.cos(t) : 1 - Math.cos(t)) + sd * normal();
        values[2 * i + 1] = (moon === 0 ? Math.sin(t) : 0.5 - Math.sin(t)) + sd * normal();
        labels[i] = moon;
      }
      break;
    }
    case 'pinwheel': {
      numClasses = classesOption(fn, options.classes, 5);
      const radialStd = 0.3;
      const tangentialStd = 0.05;
      const rate = 0.25;
      for (let i = 0; i < n; i++) {
        const k = i % numClasses;
        // A point (1 + radial noise, tangential noise) rotated by the arm's angle plus rate * radius.
        const r = 1 + radialStd * normal();
        const tt = tangentialStd * normal();
        const angle = (2 * Math.PI * k) / numClasses + rate * Math.exp(r);
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        values[2 * i] = 2 * (c * r - s * tt);
        values[2 * i + 1] = 2 * (s * r + c * tt);
        labels[i] = k;
      }
      break;
    }
    default:
      throw argError(fn, 'name', "one of 'square', 'rings', 'moons', 'pinwheel'", name);
  }
  return new ArrayDataset({ name: `toy-${name}`, itemShape: [2], values, labels, numClasses, tags: labels.slice() });
}

function classesOption(fn: string, value: number | undefined, fallback: number): number {
  const k = value ?? fallback;
  if (!Number.isInteger(k) || k < 2) throw argError(fn, 'options.classes', 'an integer >= 2', value);
  return k;
}
