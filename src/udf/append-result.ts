/**
 * Putting a result column into a batch: where Spark's `withColumn` puts it, and flattened to
 * one column per field when it is a struct (what file outputs need: CSV has no nested cells).
 *
 * @module
 */
import {
  Field,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Type,
  makeData,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import { recordBatchOf } from '../adapters/record-batch.js';
import { applyMapping } from './column-mapping.js';

/**
 * Adds `vector` as column `name`: in place of a column of that name (as Spark's `withColumn`),
 * else last.
 *
 * @param batch - the input batch
 * @param name - the result column's name
 * @param vector - one value per row of `batch`
 * @returns a new batch sharing `batch`'s column data
 */
export function appendResultColumn(batch: RecordBatch, name: string, vector: Vector): RecordBatch {
  const field = new Field(name, vector.type, true);
  const resultData =
    vector.data.length === 1 ? vector.data[0]! : vectorFromArray([...vector], vector.type).data[0]!;
  const at = batch.schema.fields.findIndex((f) => f.name === name);
  const fields = [...batch.schema.fields];
  const children = [...batch.data.children];
  if (at < 0) {
    fields.push(field);
    children.push(resultData);
  } else {
    fields[at] = field;
    children[at] = resultData;
  }
  return recordBatchOf(fields, children, batch.numRows, batch.schema.metadata);
}

/**
 * Replaces a struct column by one column per field, `<name>.<field>`; other batches pass as
 * they are. Rows where the struct itself is null become null in every field column. Input
 * columns with those names are dropped (the result replaces them).
 *
 * @param batch - a scored batch
 * @param name - the result column
 * @returns the flattened batch
 */
export function flattenStructColumn(batch: RecordBatch, name: string): RecordBatch {
  const index = batch.schema.fields.findIndex((f) => f.name === name);
  const field = batch.schema.fields[index];
  if (field === undefined || field.type.typeId !== Type.Struct) return batch;
  const structData = batch.data.children[index]!;
  const only = new Schema([field]);
  const single = new RecordBatch(
    only,
    makeData({
      type: new Struct(only.fields),
      length: batch.numRows,
      children: [structData],
      nullCount: 0,
    })
  );
  const parts = applyMapping(new Table(single), { kind: 'struct', source: name });
  const partData = parts.batches[0]?.data.children ?? [];
  const flatFields = parts.schema.fields.map(
    (f) => new Field(`${name}.${f.name}`, f.type, true, f.metadata)
  );
  const flatNames = new Set(flatFields.map((f) => f.name));
  const keep = batch.schema.fields
    .map((f, i) => [f, i] as const)
    .filter(([f]) => f.name !== name && !flatNames.has(f.name));
  const fields = [...keep.map(([f]) => f), ...flatFields];
  const children = [...keep.map(([, i]) => batch.data.children[i]!), ...partData];
  return recordBatchOf(fields, children, batch.numRows, batch.schema.metadata);
}
