/**
 * Reading a {@link Dataset} as one stream of record batches: its files in order, each file's
 * Hive partition columns appended after the file's own columns, one schema throughout.
 *
 * One schema: every file must have the first file's columns, in the same order, of the same
 * Arrow types (nullability aside, as the writers compare). Text files (CSV, NDJSON) have no
 * types of their own, so a column the model signature does not type would otherwise be inferred
 * per file (`1,2` Int64 in one file, `1.5` Float64 in the next): instead the types of the first
 * non-empty batch are fixed for every later file, as one file's later batches keep its first
 * batch's types. Zero-row batches of text files (a header-only part, an empty part) carry no
 * types and are left out, unless the whole dataset has no row.
 *
 * @module
 */
import {
  type Data,
  type Field,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  makeData,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { valueTypeFor } from '../signature/arrow-types.js';
import type { ColSpec, Schema, ValueType } from '../signature/types.js';
import type { Dataset, DatasetFile } from './dataset.js';
import {
  type PartitionTypes,
  partitionColumns,
  partitionFields,
  partitionValueTypes,
} from './dataset-partitions.js';
import { assertReadable, throwIfAborted } from './file-errors.js';
import { signatureColumnTypes, textColumnArrowType } from './text-columns.js';

/** How {@link readDatasetBatches} reads one file of the dataset's format. */
export type ReadFileBatches = (
  path: string,
  schema: Schema | null | undefined
) => AsyncIterable<RecordBatch>;

/** Options of {@link readDatasetBatches}. */
export interface ReadDatasetOptions {
  /** The model input signature: types text columns and partition columns. */
  schema?: Schema | null;
  /** Stops reading between files (the file reader checks between batches). */
  signal?: AbortSignal;
}

/**
 * Streams every file of a dataset, in order, with its partition columns appended.
 *
 * @param dataset - from `resolveDataset`
 * @param readFile - reads one file of `dataset.format` (the signature it gets may be the first
 *   text file's fixed types; see the module docs)
 * @param options - see {@link ReadDatasetOptions}
 * @returns the batches
 * @throws {ModelError} E_SCHEMA_MISMATCH naming the file and its first column that differs from
 *   the first file's (or a file column that is also a partition column); E_FORMAT_MALFORMED for
 *   a partition value that does not convert to its signature type; whatever `readFile` throws
 */
export async function* readDatasetBatches(
  dataset: Dataset,
  readFile: ReadFileBatches,
  options: ReadDatasetOptions = {}
): AsyncGenerator<RecordBatch> {
  const text = dataset.format === 'csv' || dataset.format === 'ndjson';
  const types = partitionValueTypes(dataset.partitionKeys, options.schema);
  const fields = partitionFields(dataset.partitionKeys, types);
  let first: { file: string; schema: ArrowSchema } | null = null;
  let schema = options.schema ?? null;
  let fixed = !text;
  let heldEmpty: RecordBatch | null = null;
  let yielded = false;
  for (const file of dataset.files) {
    throwIfAborted(options.signal);
    await assertReadable(file.path);
    // Same-sized batches of one file share their (immutable, shared-memory) partition columns.
    const columns = new Map<number, Data[]>();
    let checkedNames = false;
    for await (const batch of readFile(file.path, schema)) {
      if (!checkedNames) {
        checkPartitionNames(file, batch.schema, dataset.partitionKeys);
        checkedNames = true;
      }
      if (text && batch.numRows === 0) {
        if (heldEmpty === null && first === null) {
          heldEmpty = withPartitions(batch, file, fields, types, columns);
        }
        if (first !== null) checkSameColumns(first, file.path, batch.schema);
        continue;
      }
      if (first === null) first = { file: file.path, schema: batch.schema };
      else checkSameColumns(first, file.path, batch.schema);
      if (!fixed) {
        schema = fixedTextSchema(batch.schema, options.schema ?? null);
        fixed = true;
      }
      yielded = true;
      yield withPartitions(batch, file, fields, types, columns);
    }
  }
  if (!yielded && heldEmpty !== null) yield heldEmpty;
}

function withPartitions(
  batch: RecordBatch,
  file: DatasetFile,
  fields: Field[],
  types: PartitionTypes,
  cache: Map<number, Data[]>
): RecordBatch {
  if (fields.length === 0) return batch;
  let datas = cache.get(batch.numRows);
  if (datas === undefined) {
    datas = partitionColumns(file, batch.numRows, types);
    cache.set(batch.numRows, datas);
  }
  return appendColumns(batch, fields, datas);
}

/**
 * A batch with more columns after its own (same rows; schema metadata kept).
 *
 * @param batch - the batch
 * @param fields - the new columns' fields
 * @param datas - the new columns, `batch.numRows` long each
 * @returns the wider batch
 */
export function appendColumns(
  batch: RecordBatch,
  fields: readonly Field[],
  datas: Data[]
): RecordBatch {
  const schema = new ArrowSchema([...batch.schema.fields, ...fields], batch.schema.metadata);
  const data = makeData({
    type: new Struct(schema.fields),
    length: batch.numRows,
    nullCount: 0,
    // A RecordBatch's struct children are already cut to the batch (arrow-js slices eagerly).
    children: [...(batch.data.children as Data[]), ...datas],
  });
  return new RecordBatch(schema, data);
}

function checkPartitionNames(file: DatasetFile, schema: ArrowSchema, keys: readonly string[]) {
  const clash = schema.fields.find((f) => keys.includes(f.name));
  if (clash !== undefined) {
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `${file.path}: column '${clash.name}' is both a column of the file and a partition ` +
        `directory (${clash.name}=...) above it.`,
      { details: { file: file.path, column: clash.name } }
    );
  }
}

function checkSameColumns(
  first: { file: string; schema: ArrowSchema },
  file: string,
  schema: ArrowSchema
): void {
  const a = first.schema.fields;
  const b = schema.fields;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const fa = a[i];
    const fb = b[i];
    if (fa?.name === fb?.name && String(fa?.type) === String(fb?.type)) continue;
    const show = (f: Field | undefined) =>
      f === undefined ? 'no column' : `'${f.name}: ${String(f.type)}'`;
    throw new ModelError(
      'E_SCHEMA_MISMATCH',
      `${file}: column ${i + 1} is ${show(fb)}, but in ${first.file} (the dataset's first file) ` +
        `it is ${show(fa)}; every file of a dataset must have the same columns, in the same ` +
        'order, of the same types.',
      {
        details: {
          file,
          firstFile: first.file,
          position: i,
          column: fb?.name ?? fa?.name ?? null,
          expected: fa === undefined ? null : `${fa.name}: ${String(fa.type)}`,
          found: fb === undefined ? null : `${fb.name}: ${String(fb.type)}`,
        },
      }
    );
  }
}

/**
 * The signature later text files are read with: the model signature's type where it types a
 * column, else the type the first batch inferred (object properties made optional: inference
 * marks a property required only because every row of the first batch had it).
 */
function fixedTextSchema(batch: ArrowSchema, signature: Schema | null): ColSpec[] {
  const names = batch.fields.map((f) => f.name);
  const declared = signatureColumnTypes(signature, names);
  return batch.fields.map((f, i) => {
    const vt = declared[i];
    const type = vt != null && textColumnArrowType(vt) !== null ? vt : relax(valueTypeFor(f.type));
    return { kind: 'column', name: f.name, type, required: false };
  });
}

function relax(vt: ValueType): ValueType {
  switch (vt.type) {
    case 'array':
      return { type: 'array', items: relax(vt.items) };
    case 'map':
      return { type: 'map', values: relax(vt.values) };
    case 'object':
      return {
        type: 'object',
        properties: vt.properties.map((p) => ({ ...p, type: relax(p.type), required: false })),
      };
    default:
      return vt;
  }
}
