/**
 * Small file helpers (Node only, but sha256Hex; Node modules load lazily): files and folders written whole, so
 * that an interruption (a kill, a full disk) leaves the previous version or the new one, never a
 * mixture, and a full disk is reported with the path.
 */
import { argError, DlvmError } from './errors.js';

/** SHA-256 of bytes, hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // WebCrypto where there is one (browsers, workers, Node >= 19); Node's crypto otherwise.
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (subtle) {
    const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 (hex) of a file's bytes. */
export async function sha256Of(file: string): Promise<string> {
  const fs = await import('node:fs/promises');
  return sha256Hex(await fs.readFile(file));
}

/** True for the errors of a full disk or an exhausted quota. */
function diskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Writes bytes to `path` atomically (a temporary file renamed), creating folders. On a full disk
 * the temporary file is removed and the error names `path`. Node only.
 */
let partCount = 0;

/** The pid in the name of a temporary file of {@link writeFileAtomic} (`name.<pid>.<ms>[.<n>].part`). */
function partPid(name: string): number | null {
  const m = /\.(\d+)\.\d+(?:\.\d+)?\.part$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** True when a process with this pid exists on this machine (signal 0 tests without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that writes killed mid-way left in `dir` (`*.<pid>.<ms>.part` of a
 * process that is no longer running; a live writer's are kept). Returns the names removed.
 */
export async function removeStaleParts(dir: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const p = await import('node:path');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => {
    const pid = partPid(n);
    return pid !== null && pid !== process.pid && !processAlive(pid);
  });
  for (const n of stale) await fs.rm(p.join(dir, n), { force: true });
  return stale;
}

export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  if (typeof path !== 'string' || path === '') throw argError('writeFileAtomic', 'path', 'a file path', path);
  const fs = await import('node:fs/promises');
  const p = await import('node:path');
  // pid, time and a counter: two writes of one file in the same millisecond never share a name.
  const tmp = `${path}.${process.pid}.${Date.now()}.${++partCount}.part`;
  try {
    await fs.mkdir(p.dirname(path), { recursive: true });
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    if (diskFull(e))
      throw new DlvmError(`writeFileAtomic: the disk is full: cannot write ${path} (${(e as NodeJS.ErrnoException).code}). Free some space and try again.`);
    throw e;
  }
}

/**
 * Replaces the folder `dir` as a whole. `fill` writes the new content into a fresh sibling
 * (`dir.new-*`), which then takes `dir`'s place by two renames (the old one becomes `dir.old-*`
 * and is removed). An interruption leaves `dir` as it was or complete and new; between the two
 * renames it leaves complete siblings that {@link recoverDir} puts back. When `fill` fails, its
 * folder is removed, `dir` is unchanged, and a full disk is reported naming both.
 */
export async function replaceDir(fn: string, dir: string, fill: (fresh: string) => Promise<void>): Promise<void> {
  const fs = await import('node:fs/promises');
  const stamp = `${process.pid}-${Date.now()}`;
  const fresh = `${dir}.new-${stamp}`;
  try {
    await fill(fresh);
  } catch (e) {
    await fs.rm(fresh, { recursive: true, force: true });
    if (diskFull(e) || /the disk is full/.test(String((e as Error | null)?.message))) {
      throw new DlvmError(`${fn}: the disk is full (writing ${fresh}); ${dir} is unchanged. Free some space and try again.`);
    }
    throw e;
  }
  const old = `${dir}.old-${stamp}`;
  const had = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (had) await fs.rename(dir, old);
  await fs.rename(fresh, dir);
  if (had) await fs.rm(old, { recursive: true, force: true });
}

/**
 * Repairs `dir` after an interrupted {@link replaceDir}: when `dir` is missing or incomplete
 * (`isComplete` says), the newest complete sibling it left (`dir.new-*`, else `dir.old-*`) takes
 * its place; the other siblings are removed.
 *
 * @returns a sentence saying what was restored, or null when nothing needed repair.
 */
export async function recoverDir(dir: string, isComplete: (d: string) => Promise<boolean>): Promise<string | null> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const parent = path.dirname(dir);
  const name = path.basename(dir);
  const siblings = await fs.readdir(parent).catch(() => [] as string[]);
  const left = siblings.filter((f) => f.startsWith(`${name}.new-`) || f.startsWith(`${name}.old-`));
  if (left.length === 0) return null;
  let note: string | null = null;
  if (!(await isComplete(dir))) {
    // Newest first; a complete .new-* is newer than any .old-*.
    const order = [...left].sort((a, b) => (a.includes('.new-') === b.includes('.new-') ? b.localeCompare(a) : a.includes('.new-') ? -1 : 1));
    for (const f of order) {
      if (await isComplete(path.join(parent, f))) {
        await fs.rm(dir, { recursive: true, force: true });
        await fs.rename(path.join(parent, f), dir);
        note = `${dir} was left incomplete by an interrupted save; restored the complete copy ${f}.`;
        break;
      }
    }
  }
  for (const f of left) await fs.rm(path.join(parent, f), { recursive: true, force: true });
  return note;
}
