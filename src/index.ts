/**
 * dlvm: deep latent variable models on TensorFlow.js.
 *
 * Importing this module registers tfjs chained ops (`x.add(y)`) and dlvm's replacement kernels
 * for the wasm and cpu backends (see `docs/backends.md`).
 *
 * @packageDocumentation
 */
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerDlvmKernels } from './kernels/register.js';

registerDlvmKernels();

export { initBackend, describeBackend, candidateOrder } from './backend.js';
export type { BackendInfo, BackendName, BackendPreference, Candidate, InitBackendOptions } from './backend.js';
export { registerDlvmKernels, restoreStockKernels, dlvmKernelNames } from './kernels/register.js';
export { DlvmError } from './errors.js';
export { parseIdx, readIdx, isGzip } from './data/idx.js';
export type { IdxArray } from './data/idx.js';
export * from './distributions/index.js';
export { manualSeed } from './random.js';
export { VERSION } from './version.js';
