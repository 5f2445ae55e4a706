import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeThriftStruct,
  encodeThriftStruct,
  getField,
  setField,
  ThriftType,
  type ThriftTypeCode,
  type ThriftStruct,
  type ThriftValue,
} from '../../src/io/thrift-compact.js';
import { encodeParquetPiece, parquetFileFromPiece } from '../../src/io/parquet-piece.js';
import { errorOf } from '../util/model-error.js';
import { tempDir } from './helpers.js';
import { allTypesTable, duckRun, lit } from './parquet-test-data.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** A value of the given type code. */
function valueOf(type: ThriftTypeCode, depth: number): fc.Arbitrary<ThriftValue> {
  switch (type) {
    case ThriftType.BOOL:
    case ThriftType.BOOL_FALSE:
      return fc.boolean();
    case ThriftType.BYTE:
      return fc.integer({ min: -128, max: 127 });
    case ThriftType.I16:
      return fc.integer({ min: -32768, max: 32767 });
    case ThriftType.I32:
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case ThriftType.I64:
      return fc.oneof(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.bigInt({ min: -1000n, max: 1000n })
      );
    case ThriftType.DOUBLE:
      return fc.double();
    case ThriftType.BINARY:
      return fc.uint8Array({ maxLength: 40 });
    case ThriftType.UUID:
      return fc.uint8Array({ minLength: 16, maxLength: 16 });
    case ThriftType.LIST:
    case ThriftType.SET:
      return elementType(depth).chain((t) =>
        fc
          .array(valueOf(t, depth + 1), { maxLength: depth > 1 ? 3 : 20 })
          .map((items) => ({ elementType: t, items }))
      );
    case ThriftType.MAP:
      return fc.tuple(elementType(depth), elementType(depth)).chain(([k, v]) =>
        fc
          .array(fc.tuple(valueOf(k, depth + 1), valueOf(v, depth + 1)), {
            maxLength: depth > 1 ? 2 : 5,
          })
          // The wire omits the types of an empty map: it decodes with type codes 0.
          .map((entries) =>
            entries.length === 0
              ? { keyType: 0 as const, valueType: 0 as const, entries: [] }
              : { keyType: k, valueType: v, entries }
          )
      );
    case ThriftType.STRUCT:
      return structOf(depth + 1);
  }
}

const SCALARS: ThriftTypeCode[] = [1, 3, 4, 5, 6, 7, 8, 13];
const ALL: ThriftTypeCode[] = [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

function elementType(depth: number): fc.Arbitrary<ThriftTypeCode> {
  // Both bool codes occur as element types (writers disagree); containers only near the top.
  return fc.constantFrom(
    ...(depth > 2 ? [...SCALARS, 2] : [...ALL, 2])
  ) as fc.Arbitrary<ThriftTypeCode>;
}

function structOf(depth: number): fc.Arbitrary<ThriftStruct> {
  const types = depth > 2 ? SCALARS : ALL;
  const field = fc
    .tuple(
      // Mostly small ascending ids (short headers), sometimes anything (long headers).
      fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: -32768, max: 32767 })),
      fc.constantFrom(...types)
    )
    .chain(([id, type]) => valueOf(type, depth).map((value) => ({ id, type, value })));
  return fc.array(field, { maxLength: depth > 1 ? 4 : 12 }).map((fields) => ({ fields }));
}

describe('thrift compact codec', () => {
  it('decode(encode(x)) equals x and consumes every byte (property)', () => {
    fc.assert(
      fc.property(structOf(0), (s) => {
        const bytes = encodeThriftStruct(s);
        const { struct, end } = decodeThriftStruct(bytes);
        expect(end).toBe(bytes.length);
        expect(struct).toEqual(s);
        // Canonical: encoding what was decoded gives the same bytes again.
        expect(Buffer.from(encodeThriftStruct(struct))).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 400 }
    );
  });

  it('decoded structs survive structuredClone (they cross threads) unchanged', () => {
    fc.assert(
      fc.property(structOf(0), (s) => {
        const bytes = encodeThriftStruct(s);
        const clone = structuredClone(decodeThriftStruct(bytes).struct);
        expect(Buffer.from(encodeThriftStruct(clone))).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 100 }
    );
  });

  it('re-encodes real Parquet footers (DuckDB and arrow-rs) byte for byte', async () => {
    const duck = join(dir, 'duck.parquet');
    await duckRun(
      `COPY (SELECT i, i * 0.5 AS d, 'v' || (i % 7) AS s, [i, i + 1] AS l, {'a': i} AS st,
         TIMESTAMP '2020-01-01' + INTERVAL (i) SECOND AS t
       FROM range(5000) r(i)) TO ${lit(duck)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000)`
    );
    const arrowRs = parquetFileFromPiece(encodeParquetPiece(allTypesTable(0, 50)));
    for (const file of [new Uint8Array(await readFile(duck)), arrowRs]) {
      const n = file.length;
      const len = new DataView(file.buffer, file.byteOffset).getUint32(n - 8, true);
      const footer = file.subarray(n - 8 - len, n - 8);
      const { struct, end } = decodeThriftStruct(footer);
      expect(end).toBe(len);
      expect(Buffer.from(encodeThriftStruct(struct))).toEqual(Buffer.from(footer));
    }
  });

  it('keeps fields it has no name for (unknown ids, any type)', () => {
    const s: ThriftStruct = {
      fields: [
        { id: 1, type: ThriftType.I32, value: 7 },
        {
          id: 200,
          type: ThriftType.MAP,
          value: { keyType: 8, valueType: 1, entries: [[new Uint8Array([65]), true]] },
        },
        { id: 3, type: ThriftType.BOOL, value: false },
      ],
    };
    const back = decodeThriftStruct(encodeThriftStruct(s)).struct;
    expect(back).toEqual(s);
    setField(back, 2, ThriftType.I64, 5n);
    expect(back.fields.map((f) => f.id)).toEqual([1, 2, 200, 3]);
    expect(getField(back, 200)?.type).toBe(ThriftType.MAP);
  });

  it('rejects truncated and invalid data with E_FORMAT_MALFORMED', () => {
    const bytes = encodeThriftStruct({
      fields: [
        { id: 1, type: ThriftType.BINARY, value: new Uint8Array(10) },
        { id: 2, type: ThriftType.I64, value: -123456789012n },
      ],
    });
    for (let cut = 0; cut < bytes.length; cut++) {
      const e = errorOf(() => decodeThriftStruct(bytes.subarray(0, cut)));
      expect(e.code).toBe('E_FORMAT_MALFORMED');
    }
    // Type code 14 does not exist.
    expect(errorOf(() => decodeThriftStruct(Uint8Array.of(0x1e, 0))).message).toContain(
      'invalid type code 14'
    );
    // A list claiming 2^31 elements in 6 bytes fails before allocating anything.
    const huge = Uint8Array.of(0x19, 0xf5, 0x80, 0x80, 0x80, 0x80, 0x08);
    expect(errorOf(() => decodeThriftStruct(huge)).message).toContain('list of');
    // Structs nested past the limit.
    const deep = new Uint8Array(200).fill(0x1c);
    expect(errorOf(() => decodeThriftStruct(deep)).message).toContain('nested deeper');
  });
});
