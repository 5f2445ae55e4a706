/**
 * Where a scoring run's pieces go, in split order: one file (pieces concatenated), or a
 * dataset directory in Spark's layout (one part file per split, `_SUCCESS` last; see
 * `io/dataset-output.ts`), possibly as one shard of a job that many machines run.
 *
 * @module
 */
import type { Schema as ArrowSchema } from 'apache-arrow';
import {
  openDatasetOutput,
  removeStaleTempFiles,
  type DatasetCommit,
  type ShardSpec,
} from '../io/dataset-output.js';
import type { Format } from '../io/format.js';
import { createPieceWriter } from './piece-writer.js';
import type { Piece } from './split-task.js';

/** The file extension of each output format's part files. */
export const kPartExtension: Readonly<Record<Exclude<Format, 'json'>, string>> = {
  parquet: 'parquet',
  arrow: 'arrow',
  arrows: 'arrows',
  csv: 'csv',
  ndjson: 'ndjson',
};

/** Receives a run's pieces in split order. */
export interface OutputSink {
  /**
   * Writes split `index`'s piece (null: the split had no rows).
   *
   * @param index - the split's index in the plan
   * @param piece - its encoded rows
   */
  write(index: number, piece: Piece | null): Promise<void>;
  /** Completes the output; for a dataset, reports whether the job is committed. */
  finish(rows: number): Promise<DatasetCommit | null>;
  /** Discards what this run wrote (a dataset keeps parts committed by earlier runs). */
  abort(): Promise<void>;
}

/**
 * One output file: pieces appended in order (see `piece-writer.ts`), renamed into place at the
 * end.
 *
 * @param path - the file
 * @param format - its format
 * @param schema - the output schema
 * @returns the sink
 */
export function fileOutput(path: string, format: Format, schema: ArrowSchema): OutputSink {
  // Temporary files that killed runs (SIGKILL, a third Ctrl-C) left next to this output.
  const stale = removeStaleTempFiles(path).catch(() => []);
  const writer = createPieceWriter(path, format, schema);
  return {
    async write(_index, piece) {
      if (piece !== null) await writer.write(piece);
    },
    async finish() {
      await writer.close();
      await stale;
      return null;
    },
    abort: async () => {
      await writer.abort();
      await stale;
    },
  };
}

/**
 * A dataset directory: split `i` becomes part `i` (`part-0000i-<job>.<ext>`), written whole
 * (a split without rows gives a part with the header or schema only, so every part reads as the
 * same table) and renamed into the directory.
 *
 * @param dir - the directory (created if missing)
 * @param format - the parts' format
 * @param schema - the output schema
 * @param job - the job fingerprint (see `io/dataset-output.ts`)
 * @param shard - this run's shard
 * @returns the sink
 * @throws {ModelError} E_TARGET_NOT_EMPTY when `dir` holds files jsfunc did not write
 */
export async function datasetOutput(
  dir: string,
  format: Exclude<Format, 'json'>,
  schema: ArrowSchema,
  job: string,
  shard: ShardSpec
): Promise<OutputSink> {
  const out = await openDatasetOutput(dir, { extension: kPartExtension[format], job, shard });
  const written: number[] = [];
  return {
    async write(index, piece) {
      const part = out.part(index);
      const writer = createPieceWriter(part.path, format, schema);
      try {
        if (piece !== null) await writer.write(piece);
        await writer.close();
        await part.commit();
        written.push(index);
      } catch (e) {
        await writer.abort();
        await part.abort();
        throw e;
      }
    },
    finish: (rows) => out.finish({ rows, parts: written }),
    abort: () => out.abort(),
  };
}
