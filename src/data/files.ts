/**
 * Finding, reading and downloading data files (Node only; every Node module is imported lazily
 * so that browser bundles of dlvm leave it out).
 */
import { DlvmError } from '../errors.js';
import { sha256Hex } from '../io.js';
import { gunzipIfNeeded } from './gzip.js';

/** A file a dataset needs: its name and the SHA-256 of its uncompressed bytes. */
export interface DataFile {
  /** File name without `.gz`, e.g. `train-images-idx3-ubyte`. */
  name: string;
  /** SHA-256 (hex) of the uncompressed content, so gzipped and plain copies both verify. */
  sha256: string;
  /** The file's name on the mirrors (default `name.gz`). */
  remote?: string;
}

/** Options shared by the dataset loaders. */
export interface FetchOptions {
  /**
   * A folder holding the files (plain or `.gz`), or a folder with the dataset's subfolder (e.g.
   * `mnist/`) in it. When given, it is the only place looked: no other folder, no cache and no
   * download; the error names the files missing there.
   */
  path?: string;
  /** Where downloads go and are found again. Default `$DLVM_CACHE`, else `$XDG_CACHE_HOME/dlvm`, else `~/.cache/dlvm`. */
  cacheDir?: string;
  /** Download missing files when no folder has them (default true). */
  download?: boolean;
  /** Base URLs to download from, tried in order (default: the dataset's public mirrors). */
  mirrors?: string[];
  /** Show a progress bar on stderr while downloading (default: when stderr is a terminal). */
  progress?: boolean;
}

/** The default cache folder: `$DLVM_CACHE`, `$XDG_CACHE_HOME/dlvm` or `~/.cache/dlvm`. */
export async function defaultCacheDir(): Promise<string> {
  const env = typeof process !== 'undefined' ? process.env : {};
  if (env['DLVM_CACHE']) return env['DLVM_CACHE'];
  const path = await import('node:path');
  if (env['XDG_CACHE_HOME']) return path.join(env['XDG_CACHE_HOME'], 'dlvm');
  const os = await import('node:os');
  return path.join(os.homedir(), '.cache', 'dlvm');
}

/** `dir/name` or `dir/name.gz`, whichever exists (plain first), or null. */
async function existing(dir: string, name: string): Promise<string | null> {
  const { access } = await import('node:fs/promises');
  const path = await import('node:path');
  for (const candidate of [path.join(dir, name), path.join(dir, `${name}.gz`)]) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Finds every file of `files` in the folder the user gave, or in its subfolder `subdir`, all in
 * the same one. Nothing else is searched and nothing is downloaded: a given folder is
 * authoritative, so a misspelt or incomplete one fails here, naming what is missing, instead of
 * being replaced or completed by files from elsewhere.
 */
export async function locateGiven(fn: string, dataset: string, files: DataFile[], given: string, subdir: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let isDir: boolean;
  try {
    isDir = (await fs.stat(given)).isDirectory();
  } catch {
    throw new DlvmError(`${fn}: the data folder ${given} does not exist. Give the folder that holds the ${dataset} files (${fileList(files)}).`);
  }
  if (!isDir) throw new DlvmError(`${fn}: the data path ${given} is not a folder. Give the folder that holds the ${dataset} files (${fileList(files)}).`);
  const dirs = [given, path.join(given, subdir)];
  let best: { dir: string; missing: DataFile[] } | null = null;
  for (const dir of dirs) {
    const found = await Promise.all(files.map((f) => existing(dir, f.name)));
    if (found.every((p): p is string => p !== null)) return found;
    const missing = files.filter((_, i) => found[i] === null);
    if (best === null || missing.length < best.missing.length) best = { dir, missing };
  }
  let present: string[] = [];
  try {
    present = (await fs.readdir(best!.dir)).sort();
  } catch {
    present = [];
  }
  const shown =
    present.length === 0 ? 'it is empty' : `it holds ${present.slice(0, 8).join(', ')}${present.length > 8 ? `, ... (${present.length} entries)` : ''}`;
  throw new DlvmError(
    `${fn}: the data folder ${best!.dir} lacks ${fileList(best!.missing)} for ${dataset} (${shown}). ` +
      `A given folder is the only place looked (also ${path.join(given, subdir)}); put the files there, or leave the folder out to use $DLVM_DATA, the cache or a download.`,
  );
}

function fileList(files: DataFile[]): string {
  return files.map((f) => `${f.name}(.gz)`).join(', ');
}

/**
 * Checks that the content of a known file is the published one (its SHA-256), naming the file:
 * a damaged or modified copy with the right header and size would otherwise train silently.
 */
export async function verifyContent(fn: string, path: string, content: Uint8Array, file: DataFile, dataset: string): Promise<void> {
  const digest = await sha256Hex(content);
  if (digest !== file.sha256) {
    throw new DlvmError(
      `${fn}: ${path} is not the published ${dataset} file ${file.name}: the SHA-256 of its content is ${digest}, expected ${file.sha256}. ` +
        'The copy is damaged or modified; replace it with the original.',
    );
  }
}

/** How a user points dlvm at data files, from the command line or from code. */
const POINT_TO_FILES =
  'To use a folder that has them: `--data DIR` (the dlvm command), `{ path: DIR }` (the loaders), or the DLVM_DATA environment variable (both).';

/**
 * Finds every file of `files` in the first folder of `folders` that holds all of them; otherwise
 * downloads them into `cacheDir` (verifying checksums). Returns the paths, in order.
 */
export async function locateFiles(
  fn: string,
  dataset: string,
  files: DataFile[],
  folders: string[],
  cacheDir: string,
  options: FetchOptions & { mirrors: string[] },
): Promise<string[]> {
  const searched = [...folders, cacheDir];
  for (const dir of searched) {
    const found = await Promise.all(files.map((f) => existing(dir, f.name)));
    if (found.every((p): p is string => p !== null)) return found;
  }
  const where = searched.map((d) => `  ${d}`).join('\n');
  const names = fileList(files);
  if (options.download === false) {
    throw new DlvmError(
      `${fn}: the ${dataset} files (${names}) are not in any of these folders:\n${where}\n${POINT_TO_FILES} Or allow downloads ({ download: true }).`,
    );
  }
  const path = await import('node:path');
  const out: string[] = [];
  for (const f of files) {
    const have = await existing(cacheDir, f.name);
    if (have) {
      out.push(have);
      continue;
    }
    const errors: string[] = [];
    let done: string | null = null;
    for (const mirror of options.mirrors) {
      const remote = f.remote ?? `${f.name}.gz`;
      const url = `${mirror.replace(/\/?$/, '/')}${remote}`;
      const dest = path.join(cacheDir, remote);
      try {
        await downloadVerified(fn, url, dest, f, options.progress);
        done = dest;
        break;
      } catch (err) {
        errors.push(`${url}: ${(err as Error).message}`);
      }
    }
    if (!done) {
      throw new DlvmError(
        `${fn}: cannot find or download ${f.name} for ${dataset}.\nSearched:\n${where}\nDownload attempts:\n${errors.map((e) => `  ${e}`).join('\n')}\n` +
          `Offline? Put ${names} (plain or gzipped) into one of the folders above. ${POINT_TO_FILES}`,
      );
    }
    out.push(done);
  }
  return out;
}

/**
 * Downloads `url` into `dest` (atomically: a temporary file renamed at the end), with a progress
 * bar when asked, and checks the SHA-256 of its uncompressed content against `file.sha256`.
 */
async function downloadVerified(fn: string, url: string, dest: string, file: DataFile, progress?: boolean): Promise<void> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const show = progress ?? Boolean(process.stderr.isTTY);
  let bar: { start(total: number, value: number): void; update(value: number): void; stop(): void } | null = null;
  if (show) {
    const { SingleBar, Presets } = await import('cli-progress');
    // noTTYOutput: when asked for explicitly, show it in logs too (cli-progress stays silent otherwise).
    bar = new SingleBar(
      { format: `${file.name} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 1000 },
      Presets.shades_classic,
    );
    bar.start(total || 1, 0);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      received += chunk.length;
      bar?.update(received);
    }
  } finally {
    bar?.stop();
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  const content = await gunzipIfNeeded(fn, url, bytes);
  const digest = await sha256Hex(content);
  if (digest !== file.sha256) {
    throw new Error(`checksum mismatch: SHA-256 of the content is ${digest}, expected ${file.sha256}`);
  }
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.part`;
  await fs.writeFile(tmp, bytes);
  await fs.rename(tmp, dest);
}
