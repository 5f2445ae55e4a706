/**
 * Record batches and tables built in time linear in their column count.
 *
 * Why: apache-arrow's `RecordBatch` constructor (every form, and so `new Table({...})`,
 * `Table.assign` and `RecordBatch.select*`) runs `ensureSameLengthData`, which calls
 * `Schema.assign(fields)`: a `findIndex` over the fields for every field. One request row with
 * 100,000 extra columns spent 7.8 s there, blocking `serve`. The functions here build the schema,
 * the struct type and the children once, and construct the batch from an empty schema before
 * putting them in place (the two public fields the constructor sets; nothing else it computes
 * depends on the columns). Callers guarantee what `ensureSameLengthData` would repair: every
 * child has the batch's length (otherwise the regular constructor is used).
 *
 * @module
 */
import {
  type Data,
  type DataType,
  Field,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  type Vector,
} from 'apache-arrow';

/**
 * A record batch of `children` under `fields`, built in linear time.
 *
 * @param fields - one field per child, in order (names are not checked for uniqueness)
 * @param children - the column data, each of `length` rows
 * @param length - the row count (needed when there are no columns)
 * @param metadata - the schema's metadata; default none
 * @returns the batch; its schema has exactly `fields`
 */
export function recordBatchOf(
  fields: readonly Field[],
  children: readonly Data[],
  length: number,
  metadata?: Map<string, string> | null
): RecordBatch {
  const schema = new Schema([...fields], metadata ?? undefined);
  const data = makeData({
    type: new Struct([...fields]),
    length,
    nullCount: 0,
    children: [...children],
  });
  if (children.some((c) => c.length !== length)) return new RecordBatch(schema, data);
  const batch = new RecordBatch(
    new Schema([]),
    makeData({ type: new Struct([]), length, nullCount: 0, children: [] })
  );
  const writable = batch as unknown as { schema: Schema; data: Data<Struct> };
  writable.schema = schema;
  writable.data = data;
  return batch;
}

/**
 * A one-batch table of named vectors, built in linear time (the names and order given; fields
 * nullable as their vectors). Vectors of several chunks take apache-arrow's own (quadratic)
 * path, which aligns the chunks.
 *
 * @param names - the column names
 * @param vectors - one vector per name, all of the same length
 * @returns the table
 */
export function tableOfVectors(names: readonly string[], vectors: readonly Vector[]): Table {
  if (vectors.some((v) => v.data.length !== 1)) {
    const record: Record<string, Vector> = {};
    names.forEach((n, i) => (record[n] = vectors[i]!));
    return new Table(record).select([...names]);
  }
  const fields = names.map(
    (n, i) => new Field(n, vectors[i]!.type as DataType, vectors[i]!.nullable)
  );
  const children = vectors.map((v) => v.data[0]!);
  return new Table([recordBatchOf(fields, children, vectors[0]?.length ?? 0)]);
}
