/**
 * Which table columns feed the model, and under which names: MLflow `spark_udf`'s argument
 * rules (`_predict_row_batch` and `udf_with_default_cols`), resolved once on the calling thread
 * before any batch runs, then applied per batch inside the workers.
 *
 * - Explicit columns map BY POSITION onto the signature's input names (the table's own names
 *   are ignored, so `columns: ['x', 'y']` feeds inputs `a, b`); columns beyond the signature are
 *   dropped; fewer than the required inputs is an error. Without a signature they are named
 *   `"0"`, `"1"`, … as in MLflow.
 * - An unnamed tensor signature with one input takes ALL explicit columns, in order (named
 *   after their source columns): enforcement stacks n scalar columns into the `(-1, n)` tensor,
 *   the result MLflow gives for `udf(struct(c1, …, cn))`. One column keeps the name `"0"`.
 * - A single column of struct type is flattened: its fields become the model's columns, named
 *   by field (`udf(struct("a", "b"))`).
 * - No columns: the signature's names are looked up in the table by name. Optional inputs are
 *   included when present and skipped when absent (MLflow refuses outright when a signature has
 *   optional inputs; jsfunc does better). Missing required inputs fail here, naming them and
 *   the available columns. An unnamed signature or no signature needs explicit columns.
 *
 * Messages name the option as both the API and the CLI spell it (`columns` / `--columns`), and
 * point out a table column whose name differs from the one asked for only in case. A column fed
 * to the model under another name carries its table name in field metadata
 * (`SOURCE_COLUMN_KEY`), so enforcement errors name the column the user passed.
 *
 * A {@link ColumnMapping} is plain data so it can travel with every task to the workers.
 *
 * @module
 */
import { Data, Field, RecordBatch, Schema as ArrowSchema, Struct, Table, Type } from 'apache-arrow';
import type { DataType } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { arrowTypeName } from '../signature/arrow-types.js';
import { SOURCE_COLUMN_KEY } from '../signature/enforce-schema.js';
import {
  inputNames,
  isNamedSchema,
  isTensorSchema,
  requiredInputNames,
} from '../signature/schema.js';
import type { Schema } from '../signature/types.js';

/** One selected column: `source` in the table, fed to the model as `target`. */
export interface ColumnPair {
  source: string;
  target: string;
}

/** How to build the model's input table from a batch; plain data, postable to workers. */
export type ColumnMapping =
  { kind: 'columns'; pairs: ColumnPair[] } | { kind: 'struct'; source: string };

/** A table schema: an Arrow Schema or a plain list of fields. */
export type TableColumns = ArrowSchema | readonly { name: string; type: DataType }[];

function fieldsOf(s: TableColumns): readonly { name: string; type: DataType }[] {
  return 'fields' in s ? s.fields : s;
}

function quoteList(names: readonly string[]): string {
  return `[${names.map((n) => `'${n}'`).join(', ')}]`;
}

function mismatch(message: string, details: Record<string, unknown>): ModelError {
  return new ModelError('E_SCHEMA_MISMATCH', message, { details });
}

/** How to pass columns, in both spellings: the API's option and the CLI's flag. */
const COLUMNS_OPTION = '`columns` (`--columns` on the command line)';

/**
 * The available columns whose names equal `wanted` but for case, for `Delay` vs `delay`.
 * @returns `{ 'delay': 'Delay' }` style pairs, for the names that have one such column
 */
function caseTwins(wanted: readonly string[], available: readonly string[]): Map<string, string> {
  const twins = new Map<string, string>();
  for (const w of wanted) {
    const found = available.filter((a) => a !== w && a.toLowerCase() === w.toLowerCase());
    if (found.length === 1) twins.set(w, found[0]!);
  }
  return twins;
}

/** ` Column names are case-sensitive: the table has 'Delay', not 'delay'.` or nothing. */
function caseHint(twins: Map<string, string>): string {
  if (twins.size === 0) return '';
  const pairs = [...twins].map(([w, a]) => `'${a}', not '${w}'`).join('; ');
  return ` Column names are case-sensitive: the table has ${pairs}.`;
}

/**
 * Resolves which table columns feed the model and what they are called, with MLflow
 * `spark_udf` rules (see the module documentation).
 *
 * @param inputSchema - the model's input signature, or null when it has none.
 * @param tableSchema - the schema of the table (or the first batch) to score.
 * @param columns - explicit column names in the table, in the order the model expects; omit
 *   to look the signature's names up in the table.
 * @returns the mapping, to pass to {@link applyMapping} for every batch.
 * @throws {ModelError} E_SCHEMA_MISMATCH when an explicit column is not in the table, when
 *   fewer explicit columns than required inputs are given, when required inputs are missing
 *   from the table, or when no columns are given and the model has no (named) signature.
 */
export function resolveColumns(
  inputSchema: Schema | null,
  tableSchema: TableColumns,
  columns?: readonly string[]
): ColumnMapping {
  const fields = fieldsOf(tableSchema);
  const available = fields.map((f) => f.name);
  const byName = new Map<string, { name: string; type: DataType }>();
  for (const f of fields) if (!byName.has(f.name)) byName.set(f.name, f);
  const schema = inputSchema !== null && inputSchema.length > 0 ? inputSchema : null;

  if (columns !== undefined && columns.length > 0) {
    for (const c of columns) {
      if (!byName.has(c)) {
        const twins = caseTwins([c], available);
        throw mismatch(
          `Column '${c}' given in ${COLUMNS_OPTION} is not in the table. Available columns: ` +
            `${quoteList(available)}.${caseHint(twins)}`,
          { column: c, available, ...(twins.size > 0 ? { caseMatch: twins.get(c) } : {}) }
        );
      }
    }
    const only = columns.length === 1 ? byName.get(columns[0] as string) : undefined;
    if (only !== undefined && only.type.typeId === Type.Struct) {
      return { kind: 'struct', source: only.name };
    }
    if (schema === null) {
      return {
        kind: 'columns',
        pairs: columns.map((source, i) => ({ source, target: String(i) })),
      };
    }
    if (isTensorSchema(schema) && !isNamedSchema(schema) && schema.length === 1) {
      // All columns feed the one unnamed tensor: enforcement stacks n scalar columns into
      // (-1, n), as MLflow does for a DataFrame. MLflow's spark_udf itself truncates the
      // arguments to the one input name first, so there only `udf(struct(...))` reaches the
      // model with every column; keeping them all gives `columns` the same result.
      const unique = new Set(columns).size === columns.length;
      return {
        kind: 'columns',
        pairs: columns.map((source, i) => ({
          source,
          target: columns.length === 1 ? '0' : unique ? source : String(i),
        })),
      };
    }
    const names = inputNames(schema);
    const required = requiredInputNames(schema);
    const args = columns.slice(0, names.length);
    if (args.length < required.length) {
      throw mismatch(
        `Model input is missing required columns. Expected ${required.length} required input ` +
          `columns ${quoteList(required)}, but the model received only ${args.length} unnamed ` +
          `input columns (${args.join(', ')}). Since the columns were passed unnamed they are ` +
          `expected to be in the order specified by the schema.`,
        { required, received: args }
      );
    }
    return {
      kind: 'columns',
      pairs: args.map((source, i) => ({ source, target: names[i] as string })),
    };
  }

  if (schema === null) {
    throw mismatch(
      'Attempting to apply udf on zero columns because no column names were specified as ' +
        `arguments or inferred from the model signature. Pass the columns to score in ${COLUMNS_OPTION}.`,
      { available }
    );
  }
  if (!isNamedSchema(schema)) {
    const only = schema.length === 1 ? schema[0] : undefined;
    const expects =
      only?.kind === 'tensor'
        ? `an unnamed ${only.dtype} tensor of shape (${only.shape.join(', ')}${only.shape.length === 1 ? ',' : ''}), ` +
          'but its column names cannot be inferred from the model signature. Pass the columns ' +
          `that make up the tensor, in order, in ${COLUMNS_OPTION}.`
        : `${schema.length} columns, but the model signature is unnamed so their names cannot ` +
          `be inferred. Pass the columns to score, in signature order, in ${COLUMNS_OPTION}.`;
    throw mismatch(
      `Cannot apply udf because no column names specified. The udf expects ${expects}`,
      {
        expected: schema.length,
        available,
      }
    );
  }
  const required = new Set(requiredInputNames(schema));
  const missing = inputNames(schema).filter((n) => required.has(n) && !byName.has(n));
  if (missing.length > 0) {
    const twins = caseTwins(missing, available);
    throw mismatch(
      `Model input is missing required columns ${quoteList(missing)}. The table has columns ` +
        `${quoteList(available)}.${caseHint(twins)} To feed table columns with other names, ` +
        `list them in ${COLUMNS_OPTION}: they map by position onto the signature's inputs ` +
        `${quoteList(inputNames(schema).map(String))}.`,
      {
        missing,
        available,
        ...(twins.size > 0 ? { caseMatches: Object.fromEntries(twins) } : {}),
      }
    );
  }
  return {
    kind: 'columns',
    pairs: inputNames(schema)
      .filter((n) => byName.has(n))
      .map((n) => ({ source: n, target: n })),
  };
}

/**
 * Builds the model's input table for one batch: the selected columns under their target names,
 * or the fields of a struct column as columns. Zero-copy: column data is reused, only fields are
 * new (a struct's own nulls are folded into its children's validity, which copies bitmaps only),
 * and a table that already is the input (every column, in order, under its own name) is
 * returned as is.
 *
 * @param table - the batch (or table) to score.
 * @param mapping - from {@link resolveColumns}.
 * @returns a table with the model's columns.
 * @throws {ModelError} E_SCHEMA_MISMATCH when a mapped column is missing or the struct column is
 *   not a struct (the table's schema changed since the mapping was resolved).
 */
export function applyMapping(table: Table, mapping: ColumnMapping): Table {
  const index = new Map<string, number>();
  table.schema.fields.forEach((f, i) => {
    if (!index.has(f.name)) index.set(f.name, i);
  });
  const find = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) {
      throw mismatch(
        `Column '${name}' is not in the batch. Available columns: ${quoteList(table.schema.fields.map((f) => f.name))}.`,
        { column: name }
      );
    }
    return i;
  };

  if (mapping.kind === 'columns') {
    const idx = mapping.pairs.map((p) => find(p.source));
    // Every column, in order, under its own name: the table is already the model's input (a
    // new Table per batch would cost more than a trivial model's predict; issue 9).
    if (
      idx.length === table.schema.fields.length &&
      mapping.pairs.every((p, k) => p.source === p.target && idx[k] === k)
    ) {
      return table;
    }
    const schema = new ArrowSchema(
      mapping.pairs.map((p, k) => {
        const f = table.schema.fields[idx[k] as number] as Field;
        // A renamed column remembers its table name, for enforcement messages.
        const metadata =
          p.source === p.target
            ? f.metadata
            : new Map([...f.metadata, [SOURCE_COLUMN_KEY, p.source]]);
        return new Field(p.target, f.type, f.nullable, metadata);
      })
    );
    const batches = table.batches.map((b) => {
      const children = idx.map((i) => b.data.children[i] as Data);
      return new RecordBatch(
        schema,
        new Data(new Struct(schema.fields), 0, b.numRows, 0, undefined, children)
      );
    });
    return new Table(schema, batches);
  }

  const si = find(mapping.source);
  const sf = table.schema.fields[si] as Field;
  if (sf.type.typeId !== Type.Struct) {
    throw mismatch(
      `Column '${mapping.source}' is not a struct (found ${arrowTypeName(sf.type)}).`,
      {
        column: mapping.source,
      }
    );
  }
  const schema = new ArrowSchema(
    (sf.type as Struct).children.map((f) => new Field(f.name, f.type, true, f.metadata))
  );
  const batches = table.batches.map((b) => {
    const sd = b.data.children[si] as Data<Struct>;
    const children = sd.children.map((c) => (sd.nullCount > 0 ? withParentNulls(c, sd) : c));
    return new RecordBatch(
      schema,
      new Data(new Struct(schema.fields), 0, b.numRows, 0, undefined, children)
    );
  });
  return new Table(schema, batches);
}

/** A child whose rows are also null wherever its parent struct row is null. */
function withParentNulls(child: Data, parent: Data): Data {
  const n = child.length;
  const off = child.offset;
  const bits = new Uint8Array((off + n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (parent.getValid(i) && child.getValid(i)) bits[(off + i) >> 3]! |= 1 << ((off + i) & 7);
    else nulls++;
  }
  return child.clone(child.type, off, n, nulls, [
    child.valueOffsets,
    child.values,
    bits,
    child.typeIds,
  ] as never);
}
