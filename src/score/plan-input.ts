/**
 * Planning the input of a file-scoring run on the driver: the dataset's one schema (fixed
 * before any split is read, so every split produces the same columns and types) and its
 * splits, in input order.
 *
 * Splits (each becomes one worker task and, for a dataset output, one part file):
 * - Parquet: consecutive row groups of one file, grouped up to {@link kParquetSplitRows} rows
 *   (row groups are the unit every engine reads in parallel; a row group is never cut);
 * - Arrow IPC file: consecutive record batches, grouped up to {@link kIpcSplitBytes};
 * - Arrow IPC stream: each batch as the driver reads it (a stream has no index to seek by);
 * - CSV / NDJSON: byte ranges of one file (see `split-task.ts` for how records are assigned).
 *
 * The plan depends on the input files only (never on the worker count), so shards on
 * different machines, each with its own cores, agree on it.
 *
 * @module
 */
import { Field, Schema as ArrowSchema, Utf8, type RecordBatch } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { ipcFileInfo, type IpcFileInfo } from '../io/arrow-ipc.js';
import { inferCsvTypes } from '../io/csv-infer.js';
import { csvHeader } from '../io/csv-split.js';
import {
  partitionFields,
  partitionValueTypes,
  type Dataset,
  type PartitionTypes,
} from '../io/dataset.js';
import { footerRowGroups, footerSchema, readParquetFooter } from '../io/parquet-footer.js';
import { parquetArrowSchema } from '../io/parquet-row-groups.js';
import { inferNdjsonColumns } from '../io/ndjson-split.js';
import { openInput, readAt } from '../io/positional-read.js';
import { signatureColumnTypes, textColumnArrowType } from '../io/text-columns.js';
import { readBatches } from '../io/read-batches.js';
import { encodeThriftStruct } from '../io/thrift-compact.js';
import type { Schema, ValueType } from '../signature/types.js';
import { encodeTable } from '../pool/transfer.js';
import { Table } from 'apache-arrow';
import { kFirstSplit, type SplitSource } from './split-task.js';

/** Parquet row groups are grouped into one split up to this many rows (default). */
export const kParquetSplitRows = 131072;
/** Arrow IPC file batches are grouped into one split up to this many bytes (default). */
export const kIpcSplitBytes = 8 * 2 ** 20;

/**
 * How large splits are. Both depend on the input only, so shards agree on the plan (every shard
 * must be run with the same values).
 */
export interface SplitSizes {
  /** Parquet: consecutive row groups are grouped up to this many rows. */
  rows: number;
  /**
   * CSV/NDJSON byte ranges and Arrow IPC file batch groups, in bytes; null: IPC 8 MiB, text
   * 1/64 of the input's bytes clamped to 1-32 MiB (enough splits for many cores, few enough
   * that per-task costs stay small).
   */
  bytes: number | null;
}

/** One planned split. */
export interface PlannedSplit {
  /** Position in the plan: task order, output order, part number. */
  index: number;
  /** Index of its file in the dataset. */
  fileIndex: number;
  /** What the worker reads (text splits get their start mode when dispatched). */
  source: SplitSource;
  /** Rows, when known before reading (Parquet, IPC streams). */
  rows?: number;
  /** Input bytes it covers (for progress). */
  bytes: number;
}

/** The input side of a run. */
export interface InputPlan {
  dataset: Dataset;
  /** Every column a split yields: the files' columns, then partition columns. */
  schema: ArrowSchema;
  /** Partition column types (from the signature where it names them). */
  partitionTypes: PartitionTypes;
  /** CSV/NDJSON: every file column with its final type (signature, else inferred once). */
  textColumns: TextColumn[] | null;
  /** CSV/NDJSON: where each file's records begin. */
  textStarts: TextFileStart[] | null;
  /** Rows in the input, when known up front (Parquet). */
  totalRows: number | null;
  /**
   * Parquet: whether every file has the same Parquet schema (physical and logical types, not
   * only the same Arrow columns), so column chunks copied from any of them fit one file.
   */
  uniformParquetSchema: boolean;
  /** Bytes of every input file. */
  totalBytes: number;
  /** The splits, in input order (IPC streams are read while iterating). */
  splits(signal?: AbortSignal): AsyncIterable<PlannedSplit>;
}

/**
 * Plans the input: schema, types and splits.
 *
 * @param dataset - the resolved input
 * @param signature - the model's input signature (types text and partition columns), or null
 * @param batchSize - rows per batch for the inference sample of text files
 * @param sizes - split sizes, see {@link SplitSizes}
 * @returns the plan
 * @throws {ModelError} E_FORMAT_MALFORMED (a file that is not of its format), E_SCHEMA_MISMATCH
 *   (a file whose columns differ from the first file's), E_FORMAT_UNSUPPORTED (`.json`)
 */
export async function planInput(
  dataset: Dataset,
  signature: Schema | null,
  batchSize: number,
  sizes: SplitSizes = { rows: kParquetSplitRows, bytes: null }
): Promise<InputPlan> {
  const partitionTypes = partitionValueTypes(dataset.partitionKeys, signature);
  const parts = partitionFields(dataset.partitionKeys, partitionTypes);
  const totalBytes = dataset.files.reduce((n, f) => n + f.size, 0);
  const base = { dataset, partitionTypes, totalBytes };
  switch (dataset.format) {
    case 'parquet':
      return planParquet(base, parts, sizes.rows);
    case 'arrow':
      return planIpcFile(base, parts, sizes.bytes ?? kIpcSplitBytes);
    case 'arrows':
      return planIpcStream(base, parts);
    case 'csv':
    case 'ndjson':
      return planText(base, parts, signature, batchSize, sizes.bytes);
    case 'json':
      throw new ModelError(
        'E_FORMAT_UNSUPPORTED',
        `${dataset.input}: score reads .parquet, .arrow, .arrows, .csv and .ndjson/.jsonl files; .json is an MLflow request body (use 'jsfunc predict').`,
        { details: { path: dataset.input, format: dataset.format } }
      );
  }
}

type PlanBase = Pick<InputPlan, 'dataset' | 'partitionTypes' | 'totalBytes'>;

function withFields(schema: ArrowSchema, parts: Field[]): ArrowSchema {
  return parts.length === 0
    ? schema
    : new ArrowSchema([...schema.fields, ...parts], schema.metadata);
}

/** Fails when `schema` (of `file`) differs from the first file's. */
function checkSameColumns(
  first: ArrowSchema,
  schema: ArrowSchema,
  file: string,
  firstFile: string
) {
  const n = Math.max(first.fields.length, schema.fields.length);
  for (let i = 0; i < n; i++) {
    const a = first.fields[i];
    const b = schema.fields[i];
    if (a?.name === b?.name && String(a?.type) === String(b?.type)) continue;
    const what =
      a === undefined
        ? `has an extra column '${b!.name}'`
        : b === undefined
          ? `lacks column '${a.name}'`
          : a.name !== b.name
            ? `has column '${b.name}' where ${firstFile} has '${a.name}'`
            : `has column '${b.name}' of type ${String(b.type)}, ${firstFile} of type ${String(a.type)}`;
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `${file} ${what}: every file of a dataset must have the columns of the first (${firstFile}).`,
      { details: { file, firstFile, column: (b ?? a)!.name } }
    );
  }
}

async function planParquet(base: PlanBase, parts: Field[], splitRows: number): Promise<InputPlan> {
  const { files } = base.dataset;
  const footers: { schema: ArrowSchema; rowGroups: { rows: number; bytes: number }[] }[] = [];
  let parquetSchema: string | undefined;
  let uniformParquetSchema = true;
  for (const f of files) {
    const footer = await readParquetFooter(f.path);
    const elements = footerSchema(footer)
      .map((e) => Buffer.from(encodeThriftStruct(e)).toString('base64'))
      .join(',');
    parquetSchema ??= elements;
    if (elements !== parquetSchema) uniformParquetSchema = false;
    const schema = parquetArrowSchema(f.path, footer);
    if (footers.length > 0) checkSameColumns(footers[0]!.schema, schema, f.path, files[0]!.path);
    const rowGroups = footerRowGroups(footer).map((g) => ({
      rows: g.numRows,
      bytes: g.end - g.start,
    }));
    footers.push({ schema, rowGroups });
  }
  const totalRows = footers.reduce((n, f) => n + f.rowGroups.reduce((m, g) => m + g.rows, 0), 0);
  return {
    ...base,
    schema: withFields(footers[0]!.schema, parts),
    textColumns: null,
    textStarts: null,
    totalRows,
    uniformParquetSchema,
    async *splits() {
      let index = 0;
      for (const [fileIndex, footer] of footers.entries()) {
        const path = files[fileIndex]!.path;
        let group: number[] = [];
        let rows = 0;
        let bytes = 0;
        const flush = (): PlannedSplit => {
          const split: PlannedSplit = {
            index: index++,
            fileIndex,
            source: { kind: 'parquet', path, rowGroups: group, columns: null },
            rows,
            bytes,
          };
          group = [];
          rows = 0;
          bytes = 0;
          return split;
        };
        for (const [g, rg] of footer.rowGroups.entries()) {
          if (group.length > 0 && rows + rg.rows > splitRows) yield flush();
          group.push(g);
          rows += rg.rows;
          bytes += rg.bytes;
        }
        if (group.length > 0) yield flush();
      }
    },
  };
}

async function planIpcFile(base: PlanBase, parts: Field[], splitBytes: number): Promise<InputPlan> {
  const { files } = base.dataset;
  const infos: IpcFileInfo[] = [];
  for (const f of files) {
    const info = await ipcFileInfo(f.path);
    if (!info.isFile) {
      throw new ModelError(
        'E_FORMAT_MALFORMED',
        `${f.path} is an Arrow IPC stream, not a file: name it .arrows to read it as a stream.`,
        { details: { file: f.path } }
      );
    }
    if (infos.length > 0) checkSameColumns(infos[0]!.schema, info.schema, f.path, files[0]!.path);
    infos.push(info);
  }
  return {
    ...base,
    schema: withFields(infos[0]!.schema, parts),
    textColumns: null,
    textStarts: null,
    totalRows: null,
    uniformParquetSchema: false,
    async *splits() {
      let index = 0;
      for (const [fileIndex, info] of infos.entries()) {
        const file = files[fileIndex]!;
        // The footer lists blocks, not rows: group a fixed count per split, by average size.
        const perBatch = file.size / Math.max(1, info.numRecordBatches);
        const k = Math.max(1, Math.floor(splitBytes / Math.max(1, perBatch)));
        for (let b = 0; b < info.numRecordBatches; b += k) {
          const batches = [];
          for (let i = b; i < Math.min(info.numRecordBatches, b + k); i++) batches.push(i);
          yield {
            index: index++,
            fileIndex,
            source: { kind: 'ipc', path: file.path, batches },
            bytes: perBatch * batches.length,
          };
        }
      }
    },
  };
}

async function planIpcStream(base: PlanBase, parts: Field[]): Promise<InputPlan> {
  const { files } = base.dataset;
  const first = await ipcFileInfo(files[0]!.path);
  return {
    ...base,
    schema: withFields(first.schema, parts),
    textColumns: null,
    textStarts: null,
    totalRows: null,
    uniformParquetSchema: false,
    async *splits(signal) {
      let index = 0;
      for (const [fileIndex, file] of files.entries()) {
        for await (const batch of readBatches(file.path, {
          format: 'arrows',
          ...(signal !== undefined ? { signal } : {}),
        })) {
          checkSameColumns(first.schema, batch.schema, file.path, files[0]!.path);
          yield streamSplit(index++, fileIndex, batch, file.size);
        }
      }
    },
  };
}

function streamSplit(index: number, fileIndex: number, batch: RecordBatch, size: number) {
  return {
    index,
    fileIndex,
    source: { kind: 'batch' as const, table: encodeTable(new Table(batch), { shared: true }) },
    rows: batch.numRows,
    bytes: Math.min(size, batch.data.byteLength),
  };
}

async function planText(
  base: PlanBase,
  parts: Field[],
  signature: Schema | null,
  batchSize: number,
  splitBytes: number | null
): Promise<InputPlan> {
  const { files, format } = base.dataset;
  const csv = format === 'csv';
  // Each file's data start (after its header), and the columns with their final types: the
  // signature's, else inferred from the first batch of the first file exactly as a one-thread
  // read infers them. Every split then parses with these types.
  const starts: TextFileStart[] = [];
  let columns: TextColumn[] = [];
  for (const [i, file] of files.entries()) {
    if (csv) {
      const head = await readHead(file.path, file.size, (bytes, eof) =>
        csvHeader(bytes, eof, file.path)
      );
      const names = head.value.names;
      if (i === 0) {
        const known = signatureColumnTypes(signature, names);
        const types =
          names.length === 0
            ? []
            : (
                await readHead(file.path, file.size, (bytes, eof) =>
                  inferCsvTypes(bytes, head.value.dataStart, names, known, batchSize, {
                    eof,
                    file: file.path,
                  })
                )
              ).value;
        columns = names.map((name, c) => ({ name, type: types[c]!, inferred: known[c] === null }));
      } else {
        checkSameNames(
          columns.map((c) => c.name),
          names,
          file.path,
          files[0]!.path
        );
      }
      starts.push({ dataStart: head.value.dataStart, lines: head.value.dataLine - 1 });
    } else {
      if (i === 0) {
        const inferred = await readHead(file.path, file.size, (bytes, eof) => {
          const r = inferNdjsonColumns(bytes, {
            eof,
            maxRows: batchSize,
            schema: signature,
            file: file.path,
          });
          return r.complete || eof ? r : null;
        });
        columns = inferred.value.columns.map((c) => ({
          name: c.name,
          type: c.type,
          inferred: !c.declared,
        }));
      }
      starts.push({ dataStart: 0, lines: 0 });
    }
  }
  const fields = columns.map(
    (c) => new Field(c.name, textColumnArrowType(c.type) ?? new Utf8(), true)
  );
  const size =
    splitBytes ?? Math.min(32 * 2 ** 20, Math.max(2 ** 20, Math.ceil(base.totalBytes / 64)));
  return {
    ...base,
    schema: withFields(new ArrowSchema(fields), parts),
    textColumns: columns,
    textStarts: starts,
    totalRows: null,
    uniformParquetSchema: false,
    async *splits() {
      let index = 0;
      for (const [fileIndex, file] of files.entries()) {
        const { dataStart } = starts[fileIndex]!;
        let start = dataStart;
        do {
          const end = Math.min(file.size, start + size);
          yield {
            index: index++,
            fileIndex,
            source: {
              kind: format as 'csv' | 'ndjson',
              path: file.path,
              start,
              end,
              fileSize: file.size,
              dataStart,
              how: start === dataStart ? kFirstSplit : { kind: 'guess' },
              columns: columns.map((c) => ({ ...c })),
            },
            bytes: end - start,
          };
          start = end;
        } while (start < file.size);
      }
    },
  };
}

/** A text column with its final type. */
export interface TextColumn {
  name: string;
  type: ValueType;
  /** Inferred from the data (not typed by the signature). */
  inferred: boolean;
}

/** Where a text file's records begin. */
export interface TextFileStart {
  /** Offset of the first record (after a CSV header). */
  dataStart: number;
  /** Line terminators before it (the header's lines). */
  lines: number;
}

/**
 * Reads a file's head until `take` can answer (it returns null for "more bytes"), doubling the
 * bytes read each time.
 */
async function readHead<T>(
  path: string,
  size: number,
  take: (bytes: Uint8Array, eof: boolean) => T | null
): Promise<{ value: T; bytes: number }> {
  const fh = await openInput(path);
  try {
    for (let length = Math.min(size, 2 ** 20); ; length = Math.min(size, length * 2)) {
      const bytes = await readAt(fh, 0, length);
      const eof = bytes.length >= size;
      const value = take(bytes, eof);
      if (value !== null) return { value, bytes: bytes.length };
      if (eof)
        throw new ModelError('E_INTERNAL', `${path}: the head parser wants more than the file`);
    }
  } finally {
    await fh.close();
  }
}

/** Fails when a CSV file's header differs from the first file's. */
function checkSameNames(first: string[], names: string[], file: string, firstFile: string): void {
  const a = new ArrowSchema(first.map((n) => new Field(n, new Utf8(), true)));
  const b = new ArrowSchema(names.map((n) => new Field(n, new Utf8(), true)));
  checkSameColumns(a, b, file, firstFile);
}
