/**
 * Training.
 *
 * @packageDocumentation
 */
export { fit } from './fit.js';
export type { FitOptions, FitResult, HistoryRecord, Callbacks, TrainableModel } from './fit.js';
