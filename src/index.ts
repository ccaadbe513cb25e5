/**
 * dlvm: deep latent variable models on TensorFlow.js.
 *
 * Importing this module registers tfjs chained ops (`x.add(y)`), dlvm's replacement kernels
 * for the wasm and cpu backends, zero gradients for comparison ops (see `docs/backends.md`) and
 * the distributions' KL pairs.
 *
 * @packageDocumentation
 */
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerBroadcastingGradients, registerZeroGradients } from './backend/kernels/gradients.js';
import { registerDlvmKernels } from './backend/kernels/register.js';

registerDlvmKernels();
registerZeroGradients();
registerBroadcastingGradients();

export { initBackend, describeBackend, candidateOrder } from './backend/init.js';
export type { BackendInfo, BackendName, BackendPreference, Candidate, InitBackendOptions } from './backend/init.js';
export type { AdapterInfo, WebGpuFeatureLevel, WebGpuNodeOptions } from './backend/webgpu_node.js';
export { registerDlvmKernels, registerDlvmWebGpuKernels, restoreStockKernels, dlvmKernelNames } from './backend/kernels/register.js';
export { disableSimdKernels } from './backend/kernels/simd.js';
export { DlvmError } from './errors.js';
export * from './data/index.js';
export * from './evaluation/index.js';
export * from './pictures/index.js';
export * from './models/index.js';
export * from './training/index.js';
export * from './baselines/index.js';
export * from './distributions/index.js';
export { manualSeed } from './random.js';
export { VERSION } from './version.js';
