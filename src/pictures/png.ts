/**
 * Pixel pictures: grids of images encoded as PNG (pngjs), and writing files atomically.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkArgs } from '../distributions/pending_checks.js';
import { argError, DlvmError, positiveInteger } from '../errors.js';

/** An RGBA raster. */
export interface Raster {
  width: number;
  height: number;
  /** RGBA bytes, row-major, 4 per pixel. */
  data: Uint8Array;
}

/** Options of {@link imageGrid}. */
export interface GridOptions {
  /** Images per row (default: ceil(sqrt(n))). */
  cols?: number;
  /** Pixels between images (default 2). */
  pad?: number;
  /** Shape of one image [H, W] (or [H, W, 3]) when the input is flat [N, D]. Default: a square. */
  imageShape?: number[];
  /**
   * Dark ink on white, as printed digits. Default false: white on black, pixel value = intensity,
   * as torchvision's `make_grid` / `save_image` draw MNIST (the padding is black too).
   */
  invert?: boolean;
  /** Integer upscaling of every pixel (default 1). */
  scale?: number;
}

/** [H, W] or [H, W, C] of one image, from a tensor shape and an optional hint. */
function imageShapeOf(fn: string, shape: number[], hint?: number[]): [number, number, number] {
  const item = shape.slice(1);
  const size = item.reduce((a, b) => a * b, 1);
  const s = hint ?? (item.length >= 2 ? item : [Math.round(Math.sqrt(size)), Math.round(Math.sqrt(size))]);
  const [h, w, c = 1] = s as [number, number, number?];
  if (h * w * c !== size || (c !== 1 && c !== 3)) {
    throw argError(fn, 'imageShape', `[H, W] or [H, W, 3] with H * W * C = ${size}`, hint ?? item);
  }
  return [h, w, c];
}

/**
 * Lays out images `[N, H, W]`, `[N, H, W, 3]` or `[N, D]` with values in [0, 1] (clipped) as a grid.
 * Row k holds images k*cols .. k*cols + cols - 1. Reads `images` with an awaited read (any
 * backend, WebGPU included); the tensor is not disposed.
 */
export async function imageGrid(images: tf.Tensor, options: GridOptions = {}): Promise<Raster> {
  const fn = 'imageGrid';
  if (!(images instanceof tf.Tensor) || images.rank < 2) throw argError(fn, 'images', 'a tensor [N, H, W], [N, H, W, 3] or [N, D]', images);
  const n = images.shape[0]!;
  const [h, w, c] = imageShapeOf(fn, images.shape, options.imageShape);
  const cols = options.cols ?? Math.ceil(Math.sqrt(n));
  positiveInteger(fn, 'options.cols', cols, options.cols);
  const pad = options.pad ?? 2;
  const scale = options.scale ?? 1;
  const invert = options.invert ?? false;
  const rows = Math.ceil(n / cols);
  const width = (cols * (w + pad) + pad) * scale;
  const height = (rows * (h + pad) + pad) * scale;
  const data = new Uint8Array(width * height * 4).fill(invert ? 255 : 0);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  const [v] = await Promise.all([images.data(), checkArgs()]);
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % cols) * (w + pad);
    const oy = pad + Math.floor(k / cols) * (h + pad);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let ch = 0; ch < 3; ch++) {
          const val = Math.min(1, Math.max(0, v[((k * h + i) * w + j) * c + (c === 3 ? ch : 0)]!));
          const g = Math.round(255 * (invert ? 1 - val : val));
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              data[(((oy + i) * scale + dy) * width + (ox + j) * scale + dx) * 4 + ch] = g;
            }
          }
        }
      }
    }
  }
  return { width, height, data };
}

/** pngjs, which needs Node (package.json's browser field maps it to an empty module). */
async function pngjs(fn: string): Promise<(typeof import('pngjs'))['PNG']> {
  const mod = (await import('pngjs')) as Partial<typeof import('pngjs')>;
  if (typeof mod.PNG !== 'function') {
    throw new DlvmError(
      `${fn}: PNG files are made in Node (pngjs); in a browser, draw imageGrid's raster on a canvas (new ImageData(raster.data, raster.width)).`,
    );
  }
  return mod.PNG;
}

/** Encodes a raster as PNG bytes (Node). */
export async function encodePng(raster: Raster): Promise<Uint8Array> {
  const PNG = await pngjs('encodePng');
  const png = new PNG({ width: raster.width, height: raster.height });
  png.data = Buffer.from(raster.data.buffer, raster.data.byteOffset, raster.data.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}

/** Decodes PNG bytes (for tests and tools; Node). */
export async function decodePng(bytes: Uint8Array): Promise<Raster> {
  const PNG = await pngjs('decodePng');
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}

export { writeFileAtomic } from '../io.js';
