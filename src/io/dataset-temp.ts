/**
 * Temporary files that a killed process leaves behind, recognised by name and removed by a
 * later run: dataset runs' `_temporary/<shard>-<pid>-<host>-<rand>/` directories and
 * `_jsfunc/.tmp-<pid>-<host>-<rand>` files, and single-file writers'
 * `.<name>.tmp-<pid>-<rand>` files.
 *
 * A name is stale when its process is dead: `process.kill(pid, 0)` fails with ESRCH. Process ids
 * mean something only on one host, so dataset names carry a hash of the host name and entries
 * of other hosts are never judged by pid (a dataset commit removes `_temporary/` whole). A pid
 * equal to our own is stale unless this process made the entry: a container restarted after
 * SIGKILL usually runs as the same pid (1) as the run it replaces.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Options of {@link removeStaleTempFiles}. */
export interface RemoveStaleTempOptions {
  /**
   * Also remove temporary files named with this process's own pid. Safe only when this process
   * writes no other copy of the file: a container restarted after SIGKILL often runs as the same
   * pid (1). Default false.
   */
  includeOwnPid?: boolean;
}

/** `<shard>-<pid>-<host>-<rand>` (a dataset run) and `.tmp-<pid>-<host>-<rand>` (a file). */
const TEMP_RE = /^(?:\d+|\.tmp)-(\d+)-([0-9a-f]{8})-[0-9a-f]+$/;

/** Temporary entries made by this process: a pid equal to ours is stale unless listed here. */
const ownTemps = new Set<string>();

let hostTagCache: string | undefined;
/** 8 hex digits of the host name's hash: pids are only comparable on one host. */
function hostTag(): string {
  hostTagCache ??= createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
  return hostTagCache;
}

/**
 * A temporary name for this process: `<prefix>-<pid>-<host hash>-<random>`, registered as this
 * process's own until {@link releaseTempName} (so no other open in this process removes it).
 *
 * @param prefix - a shard index, or `.tmp`
 * @returns the name
 */
export function claimTempName(prefix: string): string {
  const name = `${prefix}-${process.pid}-${hostTag()}-${randomBytes(4).toString('hex')}`;
  ownTemps.add(name);
  return name;
}

/**
 * Forgets a name from {@link claimTempName} once its entry is gone.
 *
 * @param name - the name
 */
export function releaseTempName(name: string): void {
  ownTemps.delete(name);
}

/**
 * Whether a process with this id is alive on this host. `process.kill(pid, 0)` sends no signal;
 * ESRCH means no such process, EPERM a live process of another user.
 *
 * @param pid - the process id
 * @returns false only when the process certainly does not exist
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Whether a temporary entry named with `pid` and `host` belongs to a dead process here. */
function isStale(name: string, pid: number, host: string): boolean {
  if (host !== hostTag()) return false;
  // Our own pid: a process before us that ran as the same pid (containers restart as pid 1).
  if (pid === process.pid) return !ownTemps.has(name);
  return !isProcessAlive(pid);
}

/**
 * Removes the entries of `dir` named by {@link claimTempName} (with `prefix` `.tmp` when
 * `dotTmpOnly`) whose process is dead on this host; other names are left alone.
 *
 * @param dir - a dataset's `_temporary/` or `_jsfunc/` directory (missing: nothing to do)
 * @param dotTmpOnly - only `.tmp-*` names (in `_jsfunc/`, next to the markers)
 */
export async function removeStaleTemps(dir: string, dotTmpOnly: boolean): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (m === null || (dotTmpOnly && !name.startsWith('.tmp-'))) continue;
    if (isStale(name, Number(m[1]), m[2]!)) {
      await rm(join(dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Removes the temporary files an interrupted single-file write left next to `path`
 * (`.<name>.tmp-<pid>-<rand>`, as `createBatchWriter` names them) whose process is dead, so the
 * run after a SIGKILL cleans up after it. Files of live processes are left alone; pids are only
 * compared on this host (a file system shared by several hosts keeps their files).
 *
 * @param path - the output file
 * @param options - see {@link RemoveStaleTempOptions}
 * @returns the paths removed
 */
export async function removeStaleTempFiles(
  path: string,
  options: RemoveStaleTempOptions = {}
): Promise<string[]> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    const stale = pid === process.pid ? options.includeOwnPid === true : !isProcessAlive(pid);
    if (!stale) continue;
    const file = join(dir, name);
    try {
      await unlink(file);
      removed.push(file);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}
