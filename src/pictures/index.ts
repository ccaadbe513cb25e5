/**
 * Pictures: PNG image grids and charts (Node).
 *
 * @packageDocumentation
 */
export { imageGrid, encodePng, decodePng, writeFileAtomic } from './png.js';
export type { Raster, GridOptions } from './png.js';
export { scatterChart, lineChart, renderVegaLite, PALETTE } from './charts.js';
export type { ScatterPoint, LinePoint, ChartText } from './charts.js';
export { sampleGrid, styleContentGrid, reconstructionGrid, latentManifold, aggregatePosterior, toyPanels, trainingCurves } from './model_pictures.js';
export type { PictureFile, AggregatePosteriorOptions, CurveRecord } from './model_pictures.js';
