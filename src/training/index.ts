/**
 * Training.
 *
 * @packageDocumentation
 */
export { fit } from './fit.js';
export { adam, Adam, WASM_FUSED_ADAM_MAX_SIZE } from './adam.js';
export type { FitOptions, FitResult, Callbacks, TrainableModel } from './fit.js';
export type { HistoryRecord } from './history.js';
export { saveCheckpoint, loadCheckpoint, hasCheckpoint, recoverCheckpoint } from './checkpoint.js';
export type { TrainingState } from './checkpoint.js';
