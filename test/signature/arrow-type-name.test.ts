import { describe, it, expect } from 'vitest';
import {
  Decimal,
  Dictionary,
  Field,
  FixedSizeList,
  Int32,
  List,
  Map_,
  Struct,
  Table,
  TimestampMicrosecond,
  Utf8,
  Vector,
  makeData,
} from 'apache-arrow';
import { arrowTypeName } from '../../src/signature/arrow-types.js';
import { enforceSchema } from '../../src/signature/enforce-schema.js';
import { col } from '../util/col-spec.js';
import { errorOf } from '../util/model-error.js';

describe('arrowTypeName (Arrow types in messages)', () => {
  const dec = new Decimal(2, 10, 128);

  it('writes decimals as decimal(precision,scale), not Arrow\'s "Decimal[10e+2]"', () => {
    expect(String(dec)).toBe('Decimal[10e+2]');
    expect(arrowTypeName(dec)).toBe('decimal(10,2)');
    expect(arrowTypeName(new Decimal(0, 38, 128))).toBe('decimal(38,0)');
  });

  it("keeps Arrow's strings for other types, decimals inside nested ones included", () => {
    const item = new Field('item', dec, true);
    expect(arrowTypeName(new List(item))).toBe('List<decimal(10,2)>');
    expect(arrowTypeName(new FixedSizeList(3, item))).toBe('FixedSizeList[3]<decimal(10,2)>');
    const struct = new Struct([new Field('p', dec, true), new Field('s', new Utf8(), true)]);
    expect(arrowTypeName(struct)).toBe('Struct<{p:decimal(10,2), s:Utf8}>');
    const entries = new Struct([
      new Field('key', new Utf8(), false),
      new Field('value', dec, true),
    ]);
    expect(arrowTypeName(new Map_(new Field('entries', entries, false)))).toBe(
      'Map<{key:Utf8, value:decimal(10,2)}>'
    );
    expect(arrowTypeName(new Dictionary(new Utf8(), new Int32()))).toBe('Dictionary<Int32, Utf8>');
    for (const t of [
      new Utf8(),
      new TimestampMicrosecond('UTC'),
      new List(new Field('x', new Int32())),
    ])
      expect(arrowTypeName(t)).toBe(String(t));
  });

  it('is what enforcement messages print', () => {
    const data = makeData({ type: dec, length: 1, nullCount: 0, data: new Uint32Array(4) });
    const t = new Table({ price: new Vector([data]) });
    expect(errorOf(() => enforceSchema(t, [col('price', 'long')])).message).toBe(
      'Incompatible input types for column price. Can not safely convert decimal(10,2) to int64.'
    );
  });
});
