/**
 * One writer per run folder: `dlvm train` holds `OUT/.dlvm-train.lock` (the pid and start time of
 * the process) while it trains. A second writer is refused with the holder's pid; a lock whose
 * process is gone (a killed run) is stale and taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../io.js';

/** The lock file's name inside a run folder. */
export const LOCK_FILE = '.dlvm-train.lock';

/**
 * Takes the lock of run folder `dir`, or throws naming the process that holds it. Returns a
 * release function (also run when the process exits) and whether a stale lock was taken over.
 */
export function lockRun(dir: string): { release: () => void; stale: { pid: number; since: string } | null } {
  const file = join(dir, LOCK_FILE);
  let stale: { pid: number; since: string } | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx'); // fails if it exists: atomic test-and-create
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      closeSync(fd);
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        rmSync(file, { force: true });
        process.off('exit', release);
      };
      process.on('exit', release);
      return { release, stale };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder: { pid?: unknown; since?: unknown } = {};
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as typeof holder;
      } catch {
        // Unreadable (a writer killed while writing it): treat as stale.
      }
      const pid = typeof holder.pid === 'number' ? holder.pid : NaN;
      const since = typeof holder.since === 'string' ? holder.since : 'an unknown time';
      if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) {
        throw new Error(
          `${dir} is being written by another 'dlvm train' (pid ${pid}, since ${since}); wait for it to finish or stop it, or choose another --out. (If no such run exists, remove ${file}.)`,
        );
      }
      stale = { pid, since };
      rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${file}: another process keeps creating it.`);
}
