/**
 * Entry of the packed GPU benchmark's `node_modules/@tensorflow/tfjs-backend-webgpu` (see
 * bench/gpu/pack.sh): dlvm loads tfjs-backend-webgpu with a dynamic import by name, and this entry,
 * bundled with code splitting beside bench/gpu/bench.ts, answers it with the same tfjs-core
 * instance as the benchmark's.
 */
export * from '@tensorflow/tfjs-backend-webgpu';
