/**
 * The commit protocol of output datasets (see `dataset-output.ts`): shard markers in
 * `_jsfunc/`, and the commit step that checks every shard of a job has finished, removes parts
 * no marker lists and `_temporary/`, and writes `_SUCCESS` last.
 *
 * @module
 */
import type { Dirent } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../errors.js';
import { claimTempName, releaseTempName } from './dataset-temp.js';

/** The file written last, when the dataset is complete. */
export const SUCCESS = '_SUCCESS';
/** Runs' temporary directories. */
export const TEMPORARY = '_temporary';
/** jsfunc's bookkeeping: shard markers (and their temporary files). */
export const BOOKKEEPING = '_jsfunc';
const MARKER_RE = /^shard-(\d+)-of-(\d+)\.json$/;

/** Which of a job's N shards a run is; `{ index: 0, count: 1 }` for an unsharded run. */
export interface ShardSpec {
  /** 0-based shard index, below `count`. */
  readonly index: number;
  /** Number of shards of the job (at least 1). */
  readonly count: number;
}

/** The outcome of a shard's `finish()` (`dataset-output.ts`) and of {@link commitDataset}. */
export interface DatasetCommit {
  /** Whether `_SUCCESS` is written: every shard of the job has finished. */
  committed: boolean;
  /** Shard indexes without a marker yet (empty when committed). */
  missing: number[];
  /** When committed: the job fingerprint. */
  job?: string;
  /** When committed: the job's shard count. */
  shards?: number;
  /** When committed: the part file names, sorted. */
  parts?: string[];
  /** When committed: rows of all shards. */
  rows?: number;
}

/** Options of {@link commitDataset}. */
export interface CommitDatasetOptions {
  /** The expected number of shards; default: the count the markers name. */
  shards?: number;
  /** The expected job fingerprint; default: the job the markers name. */
  job?: string;
}

/** A finished shard's marker, `_jsfunc/shard-<i>-of-<N>.json`. */
export interface Marker {
  /** The marker's file name in `_jsfunc/`. */
  file: string;
  /** The job fingerprint. */
  job: string;
  /** The shard index. */
  shard: number;
  /** The job's shard count. */
  count: number;
  /** The part file names the shard committed. */
  parts: string[];
  /** Rows the shard wrote. */
  rows: number;
}

/**
 * Commits a dataset whose shards have all finished: the same step the last shard's `finish()`
 * runs (see the module docs), callable alone, e.g. by `jsfunc commit DIR` after every shard of
 * a job ran (on a network file system where finishing shards may not see each other's markers).
 * Committing a committed dataset again is harmless.
 *
 * @param dir - the dataset directory
 * @param options - see {@link CommitDatasetOptions}
 * @returns the committed dataset's job, shard count, parts and rows
 * @throws {ModelError} E_DATASET_INCOMPLETE listing the shard indexes without a marker, or when
 *   markers name different jobs or shard counts (or not the expected ones), or a part a marker
 *   lists is gone; E_FILE_NOT_FOUND when the directory cannot be read
 */
export async function commitDataset(
  dir: string,
  options: CommitDatasetOptions = {}
): Promise<DatasetCommit> {
  if (options.shards !== undefined && (!Number.isInteger(options.shards) || options.shards < 1)) {
    throw optionInvalid('shards', 'must be a positive integer', options.shards);
  }
  const markers = await readMarkers(dir);
  const plans = new Map<string, Marker>();
  for (const m of markers) plans.set(`${m.job}\u0000${m.count}`, m);
  if (plans.size > 1) {
    const shown = [...plans.values()].map((m) => `${m.file} (job ${m.job}, ${m.count} shards)`);
    throw incomplete(
      dir,
      `its shard markers disagree: ${shown.join('; ')}; rerun the job's shards, or remove the ` +
        `stale markers from ${join(dir, BOOKKEEPING)}`,
      { markers: markers.map((m) => m.file) }
    );
  }
  const plan = [...plans.values()][0];
  const job = options.job ?? plan?.job;
  const count = options.shards ?? plan?.count;
  if (plan === undefined || job === undefined || count === undefined) {
    throw incomplete(dir, 'no shard has finished (no marker in _jsfunc/)', {
      missing: count === undefined ? [] : range(count),
    });
  }
  if (plan.job !== job || plan.count !== count) {
    throw incomplete(
      dir,
      `its shards are of job ${plan.job} with ${plan.count} shards, not job ${job} with ${count}`,
      { job: plan.job, shards: plan.count }
    );
  }
  const result = await commit(dir, { job, count, strict: true });
  return result;
}

/**
 * The commit step. `strict` (standalone): missing shards are an error. Otherwise (a finishing
 * shard): missing shards mean "not yet", and markers of other jobs are stale and go at commit.
 */
export async function commit(
  dir: string,
  plan: { job: string; count: number; strict: boolean }
): Promise<DatasetCommit> {
  const markers = await readMarkers(dir);
  const ours = markers.filter((m) => sameJob(m, plan.job, plan.count));
  const byShard = new Map(ours.map((m) => [m.shard, m]));
  const missing = range(plan.count).filter((i) => !byShard.has(i));
  if (missing.length > 0) {
    if (plan.strict) {
      throw incomplete(
        dir,
        `shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${plan.count} ha${missing.length === 1 ? 's' : 've'} not finished`,
        {
          missing,
          shards: plan.count,
        }
      );
    }
    return { committed: false, missing };
  }
  const listed = new Map<string, number>();
  let rows = 0;
  for (const m of ours) {
    rows += m.rows;
    for (const p of m.parts) {
      const other = listed.get(p);
      if (other !== undefined) {
        throw internal(`shards ${other} and ${m.shard} of ${dir} both list part ${p}`);
      }
      listed.set(p, m.shard);
    }
  }
  const entries = await list(dir);
  const present = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
  for (const [p, shard] of listed) {
    if (!present.has(p)) {
      throw incomplete(
        dir,
        `part ${p}, listed by shard ${shard}, is missing; rerun shard ${shard}`,
        {
          part: p,
          shard,
        }
      );
    }
  }
  for (const e of entries) {
    if (e.name.startsWith('part-') && !listed.has(e.name)) {
      await rm(join(dir, e.name), { force: true });
    }
  }
  for (const m of markers) {
    if (!sameJob(m, plan.job, plan.count))
      await rm(join(dir, BOOKKEEPING, m.file), { force: true });
  }
  await rm(join(dir, TEMPORARY), { recursive: true, force: true });
  const parts = [...listed.keys()].sort();
  const success = { committer: 'jsfunc', job: plan.job, shards: plan.count, parts, rows };
  // Last, and atomically: a reader that sees `_SUCCESS` sees every part in place.
  await writeAtomically(dir, SUCCESS, JSON.stringify(success) + '\n');
  return { committed: true, missing: [], job: plan.job, shards: plan.count, parts, rows };
}

/** A shard's marker file name in `_jsfunc/`. */
export function markerName(shard: ShardSpec): string {
  return `shard-${shard.index}-of-${shard.count}.json`;
}

/** Whether a marker (or `_SUCCESS`) is of this job and shard count. */
export function sameJob(m: { job: string; count: number }, job: string, count: number): boolean {
  return m.job === job && m.count === count;
}

/**
 * The markers in `_jsfunc/`. One that cannot be parsed (or whose name and content disagree)
 * counts as a marker of an unknown job: it never completes a job and is removed as stale.
 */
export async function readMarkers(dir: string): Promise<Marker[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, BOOKKEEPING));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw cannotUse(dir, e);
  }
  const out: Marker[] = [];
  for (const file of names) {
    const m = MARKER_RE.exec(file);
    if (m === null) continue;
    const shard = Number(m[1]);
    const count = Number(m[2]);
    let body: Partial<Marker> | null = null;
    try {
      body = JSON.parse(await readFile(join(dir, BOOKKEEPING, file), 'utf8')) as Partial<Marker>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
    }
    const ok =
      body !== null &&
      typeof body.job === 'string' &&
      body.shard === shard &&
      body.count === count &&
      Array.isArray(body.parts) &&
      body.parts.every((p) => typeof p === 'string' && /^part-[^/\\]+$/.test(p)) &&
      typeof body.rows === 'number';
    out.push(
      ok
        ? { file, job: body!.job!, shard, count, parts: body!.parts!, rows: body!.rows! }
        : { file, job: '\u0000unreadable', shard, count, parts: [], rows: 0 }
    );
  }
  return out;
}

/** The job `_SUCCESS` names; a `_SUCCESS` of another writer (Spark's is empty) is no job of ours. */
export async function readSuccess(
  dir: string
): Promise<{ job: string; count: number } | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, SUCCESS), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as { job?: unknown; shards?: unknown };
    if (typeof s.job === 'string' && typeof s.shards === 'number') {
      return { job: s.job, count: s.shards };
    }
  } catch {
    // not ours
  }
  return { job: '\u0000foreign', count: 0 };
}

/** The entries of a dataset directory (E_FILE_NOT_FOUND when it cannot be read). */
export async function list(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw cannotUse(dir, e);
  }
}

/**
 * Writes `dir/rel` atomically: a temporary file in `_jsfunc/` (same file system, ignored by
 * readers, recognisably named for stale cleanup), then a rename over the target.
 */
export async function writeAtomically(dir: string, rel: string, text: string): Promise<void> {
  const name = claimTempName('.tmp');
  const tmp = join(dir, BOOKKEEPING, name);
  try {
    await mkdir(join(dir, BOOKKEEPING), { recursive: true });
    await writeFile(tmp, text, { flag: 'wx' });
    await rename(tmp, join(dir, rel));
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw cannotUse(dir, e);
  } finally {
    releaseTempName(name);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** E_FILE_NOT_FOUND for an output directory that cannot be created, read or written. */
export function cannotUse(dir: string, e: unknown): ModelError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return new ModelError(
    'E_FILE_NOT_FOUND',
    `Cannot use output directory ${dir}: ${e instanceof Error ? e.message : String(e)}`,
    { details: { path: dir, ...(code !== undefined ? { errno: code } : {}) }, cause: e }
  );
}

function incomplete(dir: string, why: string, details: Record<string, unknown>): ModelError {
  return new ModelError('E_DATASET_INCOMPLETE', `Dataset ${dir} cannot be committed: ${why}.`, {
    details: { path: dir, ...details },
  });
}

/** E_INTERNAL: a broken invariant of the caller's plan (never a user error). */
export function internal(message: string, cause?: unknown): ModelError {
  return new ModelError('E_INTERNAL', `Internal error: ${message}.`, {
    details: {},
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** E_OPTION_INVALID naming the option, the rule and the value found. */
export function optionInvalid(option: string, message: string, value: unknown): ModelError {
  return new ModelError('E_OPTION_INVALID', `${option} ${message}, found ${String(value)}.`, {
    details: { option, value },
  });
}
