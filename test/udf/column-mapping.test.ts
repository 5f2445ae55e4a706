import { describe, it, expect } from 'vitest';
import {
  Field,
  Float64,
  Int32,
  makeData,
  makeVector,
  Struct,
  Table,
  tableFromArrays,
  vectorFromArray,
} from 'apache-arrow';
import type { ColSpec, Schema } from '../../src/signature/types.js';
import { enforceSchema } from '../../src/signature/enforce-schema.js';
import { applyMapping, resolveColumns } from '../../src/udf/column-mapping.js';
import { errorOf } from '../util/model-error.js';

const col = (name: string | undefined, required = true): ColSpec => ({
  kind: 'column',
  ...(name === undefined ? {} : { name }),
  type: { type: 'long' },
  required,
});
const abc: Schema = [col('a'), col('b'), col('c')];
const abcd = tableFromArrays({
  a: new Int32Array([1]),
  b: new Int32Array([2]),
  c: new Int32Array([3]),
  d: new Int32Array([4]),
});

describe('resolveColumns: no columns (udf(), test_spark.py L576)', () => {
  it('looks the signature names up in the table, ignoring extra columns (#8)', () => {
    const m = resolveColumns(abc, abcd.schema);
    expect(m).toEqual({
      kind: 'columns',
      pairs: ['a', 'b', 'c'].map((n) => ({ source: n, target: n })),
    });
    expect(applyMapping(abcd, m).schema.fields.map((f) => f.name)).toEqual(['a', 'b', 'c']);
  });

  it('names the missing required columns and the available ones before any batch runs (#8)', () => {
    const xbcd = tableFromArrays({ x: [1], b: [2], c: [3], d: [4] });
    const e = errorOf(() => resolveColumns(abc, xbcd.schema));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toContain("missing required columns ['a']");
    expect(e.message).toContain("['x', 'b', 'c', 'd']");
  });

  it('includes optional columns when present and skips them when absent (#9, better than MLflow)', () => {
    const withOptional: Schema = [col('a'), col('b'), col('c'), col('d', false)];
    expect(resolveColumns(withOptional, abcd.schema)).toMatchObject({
      pairs: [{ source: 'a' }, { source: 'b' }, { source: 'c' }, { source: 'd' }],
    });
    const abcOnly = tableFromArrays({ a: [1], b: [2], c: [3] });
    expect(resolveColumns(withOptional, abcOnly.schema)).toMatchObject({
      pairs: [{ source: 'a' }, { source: 'b' }, { source: 'c' }],
    });
  });

  it('refuses an unnamed signature and a missing signature like MLflow', () => {
    const unnamed: Schema = [col(undefined), col(undefined)];
    expect(errorOf(() => resolveColumns(unnamed, abcd.schema)).message).toContain(
      'Cannot apply udf because no column names specified'
    );
    expect(errorOf(() => resolveColumns(null, abcd.schema)).message).toContain(
      'Attempting to apply udf on zero columns'
    );
  });
});

describe('resolveColumns: explicit columns', () => {
  it('maps by position onto the signature names, ignoring table names (#12, L746-L777)', () => {
    const xy = tableFromArrays({ x: new Int32Array([11]), y: new Int32Array([21]) });
    const m = resolveColumns([col('a'), col('b')], xy.schema, ['x', 'y']);
    expect(m).toEqual({
      kind: 'columns',
      pairs: [
        { source: 'x', target: 'a' },
        { source: 'y', target: 'b' },
      ],
    });
    const t = applyMapping(xy, m);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['a', 'b']);
    expect(t.getChild('a')?.get(0)).toBe(11);
  });

  it('truncates columns beyond the signature (#10, L683)', () => {
    const m = resolveColumns(abc, abcd.schema, ['a', 'b', 'c', 'd']);
    expect(m.kind === 'columns' && m.pairs.map((p) => p.target)).toEqual(['a', 'b', 'c']);
  });

  it("raises MLflow's message for fewer columns than required (#8, L576)", () => {
    const e = errorOf(() => resolveColumns(abc, abcd.schema, ['b', 'c']));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toContain(
      "Model input is missing required columns. Expected 3 required input columns ['a', 'b', 'c'], but the model received only 2 unnamed input columns"
    );
  });

  it('accepts fewer columns than inputs when the rest are optional', () => {
    const m = resolveColumns([col('a'), col('b', false)], abcd.schema, ['c']);
    expect(m).toEqual({ kind: 'columns', pairs: [{ source: 'c', target: 'a' }] });
  });

  it('names columns "0", "1", ... without a signature (#2, L282)', () => {
    const m = resolveColumns(null, abcd.schema, ['b', 'd']);
    expect(m).toEqual({
      kind: 'columns',
      pairs: [
        { source: 'b', target: '0' },
        { source: 'd', target: '1' },
      ],
    });
  });

  it('maps an unnamed signature positionally onto "0", "1", ...', () => {
    const m = resolveColumns([col(undefined), col(undefined)], abcd.schema, ['d', 'a']);
    expect(m).toMatchObject({
      pairs: [
        { source: 'd', target: '0' },
        { source: 'a', target: '1' },
      ],
    });
  });

  it('names an explicit column missing from the table', () => {
    const e = errorOf(() => resolveColumns(abc, abcd.schema, ['a', 'zz', 'c']));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toContain("Column 'zz'");
    expect(e.details).toMatchObject({ column: 'zz' });
  });

  it('accepts a plain list of fields as the table schema', () => {
    const m = resolveColumns(null, [{ name: 'q', type: new Float64() }], ['q']);
    expect(m).toEqual({ kind: 'columns', pairs: [{ source: 'q', target: '0' }] });
  });
});

describe('resolveColumns: an unnamed tensor signature', () => {
  const tensor = (shape: number[]): Schema => [{ kind: 'tensor', dtype: 'float32', shape }];
  const feats = new Table({
    f0: makeVector(Float32Array.of(5.1, 6.2)),
    f1: makeVector(Float32Array.of(3.5, 2.9)),
    f2: makeVector(Float32Array.of(1.4, 4.3)),
    f3: makeVector(Float32Array.of(0.2, 1.3)),
    label: makeVector(Int32Array.of(0, 1)),
  });

  it('keeps every explicit column in order, so enforcement stacks them into (-1, n)', () => {
    const m = resolveColumns(tensor([-1, 4]), feats.schema, ['f3', 'f0', 'f1', 'f2']);
    expect(m).toEqual({
      kind: 'columns',
      pairs: ['f3', 'f0', 'f1', 'f2'].map((n) => ({ source: n, target: n })),
    });
    const packed = enforceSchema(applyMapping(feats, m), tensor([-1, 4]));
    expect([...(packed.getChild('0')!.get(1) as Float32Array)]).toEqual(
      [1.3, 6.2, 2.9, 4.3].map(Math.fround)
    );
  });

  it('feeds a single column as the tensor "0", and repeated columns positionally', () => {
    expect(resolveColumns(tensor([-1]), feats.schema, ['f1'])).toEqual({
      kind: 'columns',
      pairs: [{ source: 'f1', target: '0' }],
    });
    expect(resolveColumns(tensor([-1, 2]), feats.schema, ['f1', 'f1'])).toMatchObject({
      pairs: [
        { source: 'f1', target: '0' },
        { source: 'f1', target: '1' },
      ],
    });
  });

  it("raises MLflow's no-column-names error without columns", () => {
    const e = errorOf(() => resolveColumns(tensor([-1, 4]), feats.schema));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toMatch(
      /^Cannot apply udf because no column names specified\. The udf expects an unnamed float32 tensor of shape \(-1, 4\)/
    );
  });
});

describe('resolveColumns + applyMapping: a struct column (#2, L282; #12 struct form)', () => {
  const structType = new Struct([
    new Field('a', new Int32(), true),
    new Field('b', new Int32(), true),
  ]);
  // Children hold values in every row; only the struct's own bitmap marks row 1 null.
  const ab = makeVector(
    makeData({
      type: structType,
      length: 3,
      nullCount: 1,
      nullBitmap: new Uint8Array([0b101]),
      children: [
        makeData({ type: new Int32(), data: new Int32Array([1, 2, 3]) }),
        makeData({ type: new Int32(), data: new Int32Array([4, 5, 6]) }),
      ],
    })
  );
  const table = new Table({ ab, other: vectorFromArray([7, 8, 9], new Int32()) });

  it('flattens the struct fields into columns named by field', () => {
    const m = resolveColumns(null, table.schema, ['ab']);
    expect(m).toEqual({ kind: 'struct', source: 'ab' });
    const t = applyMapping(table, m);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['a', 'b']);
    expect(t.getChild('a')?.get(0)).toBe(1);
    expect(t.getChild('b')?.get(2)).toBe(6);
  });

  it('makes a null struct row null in every field', () => {
    const t = applyMapping(table, resolveColumns(null, table.schema, ['ab']));
    expect(t.getChild('a')?.get(1)).toBeNull();
    expect(t.getChild('b')?.get(1)).toBeNull();
    expect(t.getChild('a')?.nullCount).toBe(1);
  });

  it('keeps sliced batches aligned', () => {
    const sliced = table.slice(1, 3);
    const t = applyMapping(sliced, resolveColumns(null, sliced.schema, ['ab']));
    expect(t.numRows).toBe(2);
    expect(t.getChild('a')?.get(0)).toBeNull();
    expect(t.getChild('a')?.get(1)).toBe(3);
  });
});

describe('applyMapping', () => {
  it('reuses column data (zero-copy) across several batches', () => {
    const t = new Table([...abcd.batches, ...abcd.batches]);
    const m = resolveColumns(abc, t.schema, ['d', 'a', 'b']);
    const out = applyMapping(t, m);
    expect(out.batches.length).toBe(2);
    expect(out.numRows).toBe(2);
    expect(out.getChild('a')?.data[0]).toBe(t.getChild('d')?.data[0]);
    expect(out.getChild('c')?.get(1)).toBe(2);
  });

  it('raises E_SCHEMA_MISMATCH when a mapped column vanished', () => {
    const e = errorOf(() =>
      applyMapping(tableFromArrays({ z: [1] }), {
        kind: 'columns',
        pairs: [{ source: 'a', target: 'a' }],
      })
    );
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
  });
});

describe('messages a newcomer reads (issue 12)', () => {
  const flights: Schema = [
    { kind: 'column', name: 'delay', type: { type: 'double' }, required: true },
    { kind: 'column', name: 'distance', type: { type: 'long' }, required: true },
  ];

  it('names the option in both spellings and hints when only the case differs', () => {
    const table = tableFromArrays({ Delay: [1], distance: BigInt64Array.from([2n]) });
    const e = errorOf(() => resolveColumns(flights, table.schema));
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.message).toBe(
      "Model input is missing required columns ['delay']. The table has columns ['Delay', " +
        "'distance']. Column names are case-sensitive: the table has 'Delay', not 'delay'. To " +
        'feed table columns with other names, list them in `columns` (`--columns` on the command ' +
        "line): they map by position onto the signature's inputs ['delay', 'distance']."
    );
    expect(e.details).toMatchObject({ missing: ['delay'], caseMatches: { delay: 'Delay' } });
    // No hint when nothing matches but for case.
    const other = tableFromArrays({ x: [1], distance: BigInt64Array.from([2n]) });
    expect(errorOf(() => resolveColumns(flights, other.schema)).message).not.toContain(
      'case-sensitive'
    );
  });

  it('hints at the case of an explicit column too', () => {
    const table = tableFromArrays({ Delay: [1], distance: BigInt64Array.from([2n]) });
    const e = errorOf(() => resolveColumns(flights, table.schema, ['delay', 'distance']));
    expect(e.message).toBe(
      "Column 'delay' given in `columns` (`--columns` on the command line) is not in the table. " +
        "Available columns: ['Delay', 'distance']. Column names are case-sensitive: the table " +
        "has 'Delay', not 'delay'."
    );
    expect(e.details).toMatchObject({ column: 'delay', caseMatch: 'Delay' });
  });

  it('names the table column the user passed when its values do not fit the input it feeds', () => {
    const table = tableFromArrays({ delay: [1.5], distance_d: [2.5] });
    const mapping = resolveColumns(flights, table.schema, ['delay', 'distance_d']);
    const input = applyMapping(table, mapping);
    expect(input.schema.fields.map((f) => f.metadata.get('jsfunc.source_column'))).toEqual([
      undefined,
      'distance_d',
    ]);
    const e = errorOf(() => enforceSchema(input, flights, () => {}));
    expect(e.message).toMatch(
      /^Incompatible input types for column distance_d \(signature input distance\)\. Can not safely convert float64 to int64\. Hint: /
    );
    expect(e.details).toMatchObject({ column: 'distance_d', input: 'distance' });
    // Unrenamed columns keep the plain wording.
    const plain = new Table({
      delay: vectorFromArray([true]),
      distance: vectorFromArray([2n]),
    });
    const e2 = errorOf(() =>
      enforceSchema(applyMapping(plain, resolveColumns(flights, plain.schema)), flights)
    );
    expect(e2.message).toBe(
      'Incompatible input types for column delay. Can not safely convert bool to float64.'
    );
  });

  it('hands the model a missing optional input as an all-null column of its type', () => {
    const withOptional: Schema = [...flights, { ...col('passengers', false) }];
    const table = tableFromArrays({ delay: [1, 2], distance: BigInt64Array.from([3n, 4n]) });
    const mapping = resolveColumns(withOptional, table.schema);
    const input = enforceSchema(applyMapping(table, mapping), withOptional);
    const passengers = input.getChild('passengers');
    expect(passengers).not.toBeNull();
    expect(String(passengers!.type)).toBe('Int64');
    expect([...passengers!]).toEqual([null, null]);
    expect(passengers!.toArray()).toHaveLength(2);
  });
});
