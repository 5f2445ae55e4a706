/**
 * Output datasets in Spark's layout, written by one process or by many shards of one job.
 *
 * The layout every engine reads as one table (DuckDB `read_parquet('out/*.parquet')`, Polars,
 * Spark, pandas/pyarrow `read_parquet('out/')`), because readers skip names starting with `_`
 * or `.`:
 *
 * ```text
 * out/part-00000-<job uuid>.parquet    data, one file per part, renamed in when complete
 * out/part-00001-<job uuid>.parquet
 * out/_SUCCESS                         written last, once every shard has finished (JSON)
 * out/_jsfunc/shard-<i>-of-<N>.json    one marker per finished shard: job, parts, rows
 * out/_temporary/<shard>-<pid>-<host>-<rand>/   a run's parts while they are written
 * ```
 *
 * Protocol (what makes it safe for many machines and for killed runs):
 * - A part is written under the run's `_temporary/` directory and renamed into `out/` when
 *   complete, replacing a file of the same name atomically. Names are deterministic per (job,
 *   part index), so a rerun of a shard replaces its parts instead of adding copies.
 * - A shard that has committed all its parts writes its marker (atomically), then removes its
 *   temporary directory. A killed shard (even SIGKILL) leaves nothing but complete parts and its
 *   `_temporary/` entry, which every reader ignores, and no marker.
 * - Whoever sees every marker of the job (the last shard to finish, or `commitDataset`) commits:
 *   removes `part-*` files no marker lists (an earlier job's, a differently planned run's),
 *   removes `_temporary/`, and writes `_SUCCESS` last (atomically). Two shards committing at
 *   once do the same idempotent steps and both end with the same `_SUCCESS`.
 * - Opening for a job (a fingerprint of input, model and options) other than the one the
 *   directory holds removes that job's `_SUCCESS` first, so no reader ever sees a mix of two
 *   jobs as complete; that job's parts are removed when the new job commits.
 * - Temporary names carry the process id and a hash of the host name: an open removes the
 *   temporary entries of dead processes of the same host (`process.kill(pid, 0)` fails with
 *   ESRCH). Entries of other hosts are left to the commit, which removes `_temporary/` whole.
 *
 * One job at a time per directory: two different jobs writing one directory concurrently are not
 * supported (the later one takes the directory over, and the earlier one never commits).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../errors.js';
import {
  BOOKKEEPING,
  type DatasetCommit,
  type ShardSpec,
  SUCCESS,
  TEMPORARY,
  cannotUse,
  commit,
  internal,
  list,
  markerName,
  optionInvalid,
  readMarkers,
  readSuccess,
  sameJob,
  writeAtomically,
} from './dataset-commit.js';
import { claimTempName, releaseTempName, removeStaleTemps } from './dataset-temp.js';

export { commitDataset } from './dataset-commit.js';
export type { CommitDatasetOptions, DatasetCommit, ShardSpec } from './dataset-commit.js';
export { isProcessAlive, removeStaleTempFiles } from './dataset-temp.js';
export type { RemoveStaleTempOptions } from './dataset-temp.js';

/** Options of {@link openDatasetOutput}. */
export interface DatasetOutputOptions {
  /** The part files' extension, with or without the dot: `parquet`, `csv`, `ndjson`, ... */
  extension: string;
  /**
   * A fingerprint of the job: the same for every shard and every rerun of the same job, and
   * different when input, model or options differ. Part names are derived from it.
   */
  job: string;
  /** This run's shard; default `{ index: 0, count: 1 }`. */
  shard?: ShardSpec;
}

/** One part of a {@link DatasetOutput}. */
export interface DatasetPart {
  /** The part index (its place in the job's output order). */
  readonly index: number;
  /** The final file name, `part-<index, 5 digits>-<job uuid>.<ext>`. */
  readonly name: string;
  /** Where to write the part: a file under this run's `_temporary/` directory. */
  readonly path: string;
  /**
   * Renames the written file into the dataset directory (atomically replacing a file of the
   * same name, e.g. from an earlier run of this shard).
   *
   * @returns the part's final path
   * @throws {ModelError} E_INTERNAL when nothing was written at `path`, or the part was already
   *   committed or aborted
   */
  commit(): Promise<string>;
  /** Removes the temporary file, if any. Safe to call more than once. */
  abort(): Promise<void>;
}

/** What a shard reports when it is done. */
export interface ShardSummary {
  /** Rows this shard wrote (summed into `_SUCCESS`). */
  rows: number;
  /**
   * The part indexes the shard was planned to write; when given, each must have been committed
   * by this run (a check against a planning bug), and no other.
   */
  parts?: readonly number[];
}

/** An output dataset opened by one run (one shard) of a job. */
export interface DatasetOutput {
  /** The dataset directory. */
  readonly dir: string;
  /** The job fingerprint. */
  readonly job: string;
  /** This run's shard. */
  readonly shard: ShardSpec;
  /**
   * A part to write: write the file at `part.path`, then `commit()` it.
   *
   * @param index - the part index (a non-negative integer, once per run)
   * @returns the part
   * @throws {ModelError} E_OPTION_INVALID for a bad or repeated index, or after finish/abort
   */
  part(index: number): DatasetPart;
  /**
   * Ends this shard: writes its marker, removes its temporary directory, and commits the
   * dataset when every shard of the job has finished (see the module docs).
   *
   * @param summary - see {@link ShardSummary}
   * @returns whether the dataset was committed, else which shards are missing
   * @throws {ModelError} E_INTERNAL when `summary.parts` differs from the committed parts;
   *   E_DATASET_INCOMPLETE when a part a marker lists is gone
   */
  finish(summary: ShardSummary): Promise<DatasetCommit>;
  /** Removes this run's temporary directory; never writes `_SUCCESS`; committed parts stay. */
  abort(): Promise<void>;
}

const EXTENSION_RE = /^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*$/;

/**
 * The job's UUID in part names: a hash of the fingerprint shaped as an RFC 9562 version-8 UUID.
 *
 * @param job - the job fingerprint
 * @returns the UUID text
 */
export function jobUuid(job: string): string {
  const h = createHash('sha256').update(job).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * A part's file name: `part-<index, 5 digits>-<job uuid>.<ext>`, as Spark names task output.
 *
 * @param index - the part index
 * @param job - the job fingerprint
 * @param extension - the extension, with or without the dot
 * @returns the file name
 */
export function partFileName(index: number, job: string, extension: string): string {
  return `part-${String(index).padStart(5, '0')}-${jobUuid(job)}.${extension.replace(/^\./, '')}`;
}

function checkShard(shard: ShardSpec | undefined): ShardSpec {
  const s = shard ?? { index: 0, count: 1 };
  if (!Number.isInteger(s.count) || s.count < 1) {
    throw optionInvalid('shard.count', 'must be a positive integer', s.count);
  }
  if (!Number.isInteger(s.index) || s.index < 0 || s.index >= s.count) {
    throw optionInvalid('shard.index', `must be an integer from 0 to ${s.count - 1}`, s.index);
  }
  return { index: s.index, count: s.count };
}

/**
 * Opens a dataset directory for one run (one shard) of a job: creates it if missing, checks it
 * holds only what jsfunc's dataset output writes, takes it over from another job (removing that
 * job's `_SUCCESS` first), removes temporary entries of dead processes, and creates this run's
 * temporary directory.
 *
 * @param dir - the dataset directory
 * @param options - see {@link DatasetOutputOptions}
 * @returns the open output
 * @throws {ModelError} E_OPTION_INVALID (extension, job, shard); E_TARGET_NOT_EMPTY naming a file
 *   jsfunc's dataset output does not write (anything but `part-*` files, `_SUCCESS`,
 *   `_temporary/`, `_jsfunc/`); E_FILE_NOT_FOUND when the directory cannot be created or read
 * @example
 * ```ts
 * const out = await openDatasetOutput('scores/', { extension: 'parquet', job, shard: { index: 1, count: 4 } });
 * try {
 *   for (const [i, batches] of mySplits) {
 *     const part = out.part(i);
 *     const w = createBatchWriter(part.path);
 *     for (const b of batches) await w.write(b);
 *     await w.close();
 *     await part.commit();
 *   }
 *   const { committed } = await out.finish({ rows });
 * } catch (e) {
 *   await out.abort();
 *   throw e;
 * }
 * ```
 */
export async function openDatasetOutput(
  dir: string,
  options: DatasetOutputOptions
): Promise<DatasetOutput> {
  const extension = String(options.extension ?? '').replace(/^\./, '');
  if (!EXTENSION_RE.test(extension)) {
    throw optionInvalid('extension', 'must be a file extension such as parquet', extension);
  }
  if (typeof options.job !== 'string' || options.job === '') {
    throw optionInvalid('job', 'must be a non-empty string', options.job);
  }
  const job = options.job;
  const shard = checkShard(options.shard);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw cannotUse(dir, e);
  }
  const entries = await list(dir);
  const foreign = entries.find((e) => !isOwnEntry(e));
  if (foreign !== undefined) {
    throw new ModelError(
      'E_TARGET_NOT_EMPTY',
      `Output directory ${dir} holds ${join(dir, foreign.name)}, which jsfunc's dataset output ` +
        'did not write; choose an empty or new directory, or remove it.',
      { details: { path: dir, file: join(dir, foreign.name) } }
    );
  }
  const markers = await readMarkers(dir);
  const success = await readSuccess(dir);
  const otherJob =
    markers.some((m) => !sameJob(m, job, shard.count)) ||
    (success !== undefined && !sameJob(success, job, shard.count));
  if (otherJob) {
    // `_SUCCESS` first: from here on no reader takes the directory for a complete dataset.
    await rm(join(dir, SUCCESS), { force: true });
    for (const m of markers) {
      if (!sameJob(m, job, shard.count)) await rm(join(dir, BOOKKEEPING, m.file), { force: true });
    }
  }
  await removeStaleTemps(join(dir, TEMPORARY), false);
  await removeStaleTemps(join(dir, BOOKKEEPING), true);
  // Claimed before it exists: another open in this process (shards may run side by side in one
  // process) must never take it for the directory of a dead process that had our pid.
  const runName = claimTempName(String(shard.index));
  const runDir = join(dir, TEMPORARY, runName);
  try {
    await mkdir(runDir, { recursive: true });
  } catch (e) {
    releaseTempName(runName);
    throw cannotUse(dir, e);
  }
  return new Output(dir, job, shard, extension, runDir, runName);
}

class Output implements DatasetOutput {
  private state: 'open' | 'finished' | 'aborted' = 'open';
  private readonly handedOut = new Set<number>();
  /** Committed parts of this run: index -> file name. */
  private readonly committed = new Map<number, string>();

  constructor(
    readonly dir: string,
    readonly job: string,
    readonly shard: ShardSpec,
    private readonly extension: string,
    private readonly runDir: string,
    private readonly runName: string
  ) {}

  part(index: number): DatasetPart {
    this.guard();
    if (!Number.isInteger(index) || index < 0) {
      throw optionInvalid('part index', 'must be a non-negative integer', index);
    }
    if (this.handedOut.has(index)) {
      throw optionInvalid('part index', 'was already used in this run', index);
    }
    this.handedOut.add(index);
    const name = partFileName(index, this.job, this.extension);
    const path = join(this.runDir, name);
    const target = join(this.dir, name);
    let done: 'committed' | 'aborted' | undefined;
    return {
      index,
      name,
      path,
      commit: async () => {
        if (done !== undefined || this.state !== 'open') {
          throw internal(`part ${index} of ${this.dir} is already ${done ?? this.state}`);
        }
        try {
          await rename(path, target);
        } catch (e) {
          throw internal(`part ${index} was not written at ${path} before commit()`, e);
        }
        done = 'committed';
        this.committed.set(index, name);
        return target;
      },
      abort: async () => {
        if (done === 'committed') return;
        done = 'aborted';
        await rm(path, { force: true });
      },
    };
  }

  async finish(summary: ShardSummary): Promise<DatasetCommit> {
    this.guard();
    if (!Number.isInteger(summary.rows) || summary.rows < 0) {
      throw optionInvalid('rows', 'must be a non-negative integer', summary.rows);
    }
    if (summary.parts !== undefined) {
      const planned = new Set(summary.parts);
      const missing = [...planned].filter((i) => !this.committed.has(i));
      const extra = [...this.committed.keys()].filter((i) => !planned.has(i));
      if (missing.length > 0 || extra.length > 0) {
        throw internal(
          `shard ${this.shard.index} of ${this.dir} planned parts [${[...planned].join(', ')}] ` +
            `but committed [${[...this.committed.keys()].join(', ')}]`
        );
      }
    }
    const body = {
      job: this.job,
      shard: this.shard.index,
      count: this.shard.count,
      parts: [...this.committed.values()].sort(),
      rows: summary.rows,
    };
    await writeAtomically(
      this.dir,
      join(BOOKKEEPING, markerName(this.shard)),
      JSON.stringify(body) + '\n'
    );
    this.state = 'finished';
    await this.removeRunDir();
    return commit(this.dir, { job: this.job, count: this.shard.count, strict: false });
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.removeRunDir();
  }

  private async removeRunDir(): Promise<void> {
    await rm(this.runDir, { recursive: true, force: true });
    releaseTempName(this.runName);
    // The shared `_temporary/` goes too once it is empty (other runs' entries keep it).
    await rmdir(join(this.dir, TEMPORARY)).catch(() => undefined);
  }

  private guard(): void {
    if (this.state !== 'open') {
      throw new ModelError('E_OPTION_INVALID', `The dataset output ${this.dir} is ${this.state}.`, {
        details: { path: this.dir, state: this.state },
      });
    }
  }
}

/** What jsfunc's dataset output writes (and nothing else). */
function isOwnEntry(e: Dirent): boolean {
  if (e.name.startsWith('part-')) return e.isFile();
  if (e.name === SUCCESS) return e.isFile();
  if (e.name === TEMPORARY || e.name === BOOKKEEPING) return e.isDirectory();
  return false;
}
