/**
 * The NDJSON byte reader's own rules: nesting limit, strict UTF-8, BOM, keys (escaped,
 * duplicated, `__proto__`), line starts, error details and re-basing, projections, long lines,
 * shared memory, and readNdjsonBatches across chunk boundaries.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Data, RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelError } from '../../src/errors.js';
import { readNdjsonBatches } from '../../src/io/ndjson.js';
import {
  MAX_DEPTH,
  NdjsonRecordParser,
  inferNdjsonColumns,
  ndjsonLineStart,
  parseNdjsonRecords,
  rebaseNdjsonError,
} from '../../src/io/ndjson-split.js';
import { assembleBatch } from '../../src/io/text-columns.js';
import type { ValueType } from '../../src/signature/types.js';
import { collect, rows, tempDir, typesOf } from './helpers.js';
import { errorOf, rejectionOf } from '../util/model-error.js';

const FILE = 'x.ndjson';
let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  await cleanup();
});

/** Infers and parses a whole text in memory, as one batch. */
function readText(text: string | Uint8Array, maxRows = 65536): RecordBatch {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const head = inferNdjsonColumns(bytes, { eof: true, maxRows, file: FILE });
  const r = parseNdjsonRecords(bytes, { eof: true, columns: head.columns, file: FILE });
  const datas = r.columns.map((d) => d!);
  return assembleBatch(
    head.columns.map((c) => c.name),
    datas.map((d) => d.type),
    datas,
    r.rows
  );
}

async function readFile(text: string | Uint8Array, batchSize?: number): Promise<RecordBatch[]> {
  const path = join(dir, FILE);
  await writeFile(path, text);
  return collect(readNdjsonBatches(path, batchSize === undefined ? {} : { batchSize }));
}

const nest = (n: number): string => '['.repeat(n) + ']'.repeat(n);

describe('nesting', () => {
  it('a deeply nested line is E_FORMAT_MALFORMED naming file and line, never a RangeError', async () => {
    const text = `{"a":1}\n{"a":2,"n":${nest(100_000)}}\n`;
    for (const read of [
      () => readText(text),
      () =>
        parseNdjsonRecords(Buffer.from(text), {
          eof: true,
          columns: [{ name: 'a', type: { type: 'long' } }],
          file: FILE,
        }),
      () =>
        parseNdjsonRecords(Buffer.from(text), {
          eof: true,
          columns: [
            { name: 'a', type: { type: 'long' } },
            { name: 'n', type: 'skip' },
          ],
          file: FILE,
        }),
    ]) {
      const e = errorOf(read);
      expect(e.code).toBe('E_FORMAT_MALFORMED');
      expect(e.message).toBe(`${FILE}: line 2: JSON nested deeper than ${MAX_DEPTH} levels.`);
      expect(e.details).toMatchObject({ file: FILE, line: 2, byteOffset: 8 });
    }
    const e = await rejectionOf(readFile(text));
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain(`line 2: JSON nested deeper than ${MAX_DEPTH} levels`);
    // Deep nesting on a line that is not an object is still "not an object".
    const arr = errorOf(() => readText(`${nest(100_000)}\n`));
    expect(arr.message).toBe(`${FILE}: line 1: expected a JSON object per line, found an array.`);
  });

  it('nesting up to the limit reads (the record object is one level)', () => {
    const ok = readText(`{"n":${nest(MAX_DEPTH - 1)}}\n`);
    expect(ok.numRows).toBe(1);
    const e = errorOf(() => readText(`{"n":${nest(MAX_DEPTH)}}\n`));
    expect(e.message).toContain('nested deeper');
  });
});

describe('strict UTF-8', () => {
  const bad: [string, number[]][] = [
    ['a lone continuation byte', [0x80]],
    ['an overlong form', [0xc0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a byte that never starts a sequence', [0xff]],
    ['a truncated sequence', [0xe2, 0x82]],
  ];
  for (const [what, seq] of bad) {
    it(`${what} is E_FORMAT_MALFORMED with line and byte offset`, async () => {
      const before = Buffer.from('{"s":"ok"}\r\n\n{"s":"é');
      const bytes = Buffer.concat([before, Buffer.from(seq), Buffer.from('"}\n{"s":"z"}\n')]);
      const at = before.length;
      const message = `${FILE}: line 3: invalid UTF-8 at byte offset ${at}.`;
      const e = errorOf(() => readText(bytes));
      expect(e.code).toBe('E_FORMAT_MALFORMED');
      expect(e.message).toBe(message);
      expect(e.details).toMatchObject({ line: 3, byteOffset: at });
      const f = await rejectionOf(readFile(bytes));
      expect(f.message).toBe(`${join(dir, FILE)}: line 3: invalid UTF-8 at byte offset ${at}.`);
    });
  }

  it('invalid UTF-8 in a later line of a block is found on that line, not before', () => {
    const good = '{"s":"a"}\n'.repeat(1000);
    const bytes = Buffer.concat([Buffer.from(good), Buffer.from([0x7b, 0xff, 0x7d, 0x0a])]);
    const r = parseNdjsonRecords(bytes, {
      eof: true,
      maxRows: 1000,
      columns: [{ name: 's', type: { type: 'string' } }],
      file: FILE,
    });
    expect(r.rows).toBe(1000);
    const e = errorOf(() =>
      parseNdjsonRecords(bytes, {
        start: r.next,
        eof: true,
        firstLine: 1001,
        byteOffset: 0,
        columns: [{ name: 's', type: { type: 'string' } }],
        file: FILE,
      })
    );
    expect(e.details).toMatchObject({ line: 1001, byteOffset: good.length + 1 });
  });

  it('a UTF-8 BOM at the start of the file is skipped', () => {
    const b = readText('\uFEFF{"a":1}\n{"a":2}\n');
    expect(rows([b])).toEqual([{ a: 1n }, { a: 2n }]);
    // Anywhere else it is not JSON whitespace.
    const e = errorOf(() => readText('{"a":1}\n\uFEFF{"a":2}\n'));
    expect(e.message).toContain('line 2: not valid JSON');
  });
});

describe('keys', () => {
  it('escaped keys are the column they spell; duplicates: the last value wins', () => {
    const b = readText('{"delay":1,"x":"a"}\n{"\\u0064elay":2,"x":"b","delay":3}\n');
    expect(b.schema.fields.map((f) => f.name)).toEqual(['delay', 'x']);
    expect(rows([b])).toEqual([
      { delay: 1n, x: 'a' },
      { delay: 3n, x: 'b' },
    ]);
  });

  it('a duplicate that fails to convert is replaced by a later one that does', () => {
    const columns = [{ name: 'a', type: { type: 'long' } as ValueType, declared: true }];
    const ok = parseNdjsonRecords(Buffer.from('{"a":"x","a":null}\n{"a":"x","a":"7"}\n'), {
      eof: true,
      columns,
      file: FILE,
    });
    expect(ok.rows).toBe(2);
    const e = errorOf(() =>
      parseNdjsonRecords(Buffer.from('{"a":1}\n{"a":2,"a":"y"}\n'), {
        eof: true,
        columns,
        file: FILE,
      })
    );
    expect(e.message).toBe(
      `${FILE}: line 2, column 'a': cannot read "y" as long (expected an integer, found 'y').`
    );
  });

  it('__proto__ and constructor are ordinary keys; a missing one is null', () => {
    const b = readText('{"__proto__":1,"constructor":"c"}\n{}\n');
    expect(typesOf(b)).toEqual(['__proto__: Int64', 'constructor: Utf8']);
    expect(b.getChildAt(0)?.toArray()).toEqual(new BigInt64Array([1n, 0n]));
    expect(b.getChildAt(0)?.get(1)).toBeNull();
    expect(b.getChildAt(1)?.get(0)).toBe('c');
    expect(b.getChildAt(1)?.get(1)).toBeNull();
  });

  it('columns keep the order keys first appear in, integer-like keys included', () => {
    // (JSON.parse + Object.keys put "2" and "10" first; the byte reader keeps file order.)
    const b = readText('{"b":1,"2":2}\n{"10":3,"a":4}\n');
    expect(b.schema.fields.map((f) => f.name)).toEqual(['b', '2', '10', 'a']);
  });

  it('reports keys that are not columns once, with the line they first appear on', () => {
    const parser = new NdjsonRecordParser([{ name: 'a', type: { type: 'long' } }], FILE);
    const chunk = parser.parse(Buffer.from('{"a":1}\n{"a":2,"b":1}\n{"\\u0062":2,"c":3}\n'), {
      eof: true,
    });
    expect(chunk.unknownKeys).toEqual([
      { key: 'b', line: 2 },
      { key: 'c', line: 3 },
    ]);
  });

  it('many columns: keys are hashed, not searched', () => {
    const n = 20_000;
    const obj = Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',');
    const bytes = Buffer.from(`{${obj}}\n{${obj}}\n`);
    const head = inferNdjsonColumns(bytes, { eof: true, maxRows: 10, file: FILE });
    expect(head.columns).toHaveLength(n);
    const r = parseNdjsonRecords(bytes, { eof: true, columns: head.columns, file: FILE });
    expect(r.columns).toHaveLength(n);
    expect([...(r.columns[n - 1] as Data).values]).toEqual([BigInt(n - 1), BigInt(n - 1)]);
  });
});

describe('line starts and splits', () => {
  it('ndjsonLineStart finds the first line starting at or after an offset', () => {
    const b = Buffer.from('{"a":1}\n{"a":2}\n');
    expect(ndjsonLineStart(b, 0)).toBe(0);
    expect(ndjsonLineStart(b, 1)).toBe(8);
    expect(ndjsonLineStart(b, 8)).toBe(8);
    expect(ndjsonLineStart(b, 9)).toBe(16); // no line starts there before the end
    expect(ndjsonLineStart(Buffer.from('{"a":1}'), 3)).toBe(-1); // no newline: read more
    // With byteOffset: the buffer starts inside the file and holds the byte before `from`.
    expect(ndjsonLineStart(b.subarray(7), 1, 7)).toBe(1);
    expect(ndjsonLineStart(b.subarray(6), 1, 6)).toBe(2);
    expect(errorOf(() => ndjsonLineStart(b.subarray(8), 0, 8)).code).toBe('E_INTERNAL');
  });

  it('a split stops at its line end past stop; an unterminated line waits for eof', () => {
    const columns = [{ name: 'a', type: { type: 'long' } as ValueType }];
    const b = Buffer.from('{"a":1}\n\n{"a":2}\n{"a":3}');
    const first = parseNdjsonRecords(b, { stop: 10, eof: false, columns, file: FILE });
    expect(first).toMatchObject({ rows: 2, next: 17, lines: 3, complete: true });
    const rest = parseNdjsonRecords(b, { start: 17, eof: false, columns, file: FILE });
    expect(rest).toMatchObject({ rows: 0, next: 17, lines: 0, complete: false });
    const end = parseNdjsonRecords(b, { start: 17, eof: true, columns, file: FILE });
    expect(end).toMatchObject({ rows: 1, next: b.length, lines: 1, complete: true });
    const limited = parseNdjsonRecords(b, { eof: true, maxRows: 1, columns, file: FILE });
    expect(limited).toMatchObject({ rows: 1, next: 8, lines: 1, complete: false });
  });

  it('errors carry line, reason and absolute byteOffset; rebaseNdjsonError renumbers them', () => {
    const text = '{"a":1}\n{"a":2}\n{"a":3,}\n';
    const full = Buffer.from(text);
    const columns = [{ name: 'a', type: { type: 'long' } as ValueType }];
    const whole = errorOf(() => parseNdjsonRecords(full, { eof: true, columns, file: FILE }));
    // A worker that read the last split (from byte 15) numbers its lines from 1.
    const split = errorOf(() =>
      parseNdjsonRecords(full.subarray(15), {
        start: 1,
        eof: true,
        byteOffset: 15,
        columns,
        file: FILE,
      })
    );
    expect(split.details).toMatchObject({ line: 1, byteOffset: 16 });
    expect(split.details.reason).toBe(whole.details.reason);
    const rebased = rebaseNdjsonError(split, 2) as ModelError;
    expect(rebased.message).toBe(whole.message);
    expect(rebased.details).toEqual(whole.details);
    expect(whole.message).toMatch(/^x\.ndjson: line 3: not valid JSON \(.+\)\.$/);
  });

  it('a projection skips columns (still checking their syntax) and keeps the others', () => {
    const text =
      '{"date":"2001-01-01 00:01:00","delay":33,"distance":2176,"origin":"LAS","destination":"PHL"}\n';
    const head = inferNdjsonColumns(Buffer.from(text), { eof: true, maxRows: 10, file: FILE });
    const columns = head.columns.map((c) =>
      c.name === 'delay' || c.name === 'distance' ? c : { ...c, type: 'skip' as const }
    );
    const r = parseNdjsonRecords(Buffer.from(text.repeat(3)), { eof: true, columns, file: FILE });
    expect(r.columns.map((d) => d === null)).toEqual([true, false, false, true, true]);
    expect([...(r.columns[1] as Data).values]).toEqual([33n, 33n, 33n]);
    const e = errorOf(() =>
      parseNdjsonRecords(Buffer.from('{"date":"x\u0001","delay":1,"distance":2}\n'), {
        eof: true,
        columns,
        file: FILE,
      })
    );
    expect(e.message).toContain('line 1: not valid JSON');
  });
});

describe('values', () => {
  it('every column lives in shared memory', () => {
    const b = readText(
      '{"i":1,"f":1.5,"b":true,"s":"é","n":[1],"o":{"x":1},"t":"2001-01-01T00:00:00Z"}\n{}\n'
    );
    for (const child of b.data.children) {
      for (const buf of [child.values, child.valueOffsets, child.nullBitmap]) {
        if (buf != null && buf.byteLength > 0) {
          expect(buf.buffer).toBeInstanceOf(SharedArrayBuffer);
        }
      }
    }
  });

  it('signature types: datetime from bytes, int32, float32, string from numbers', () => {
    const parser = new NdjsonRecordParser(
      [
        { name: 't', type: { type: 'datetime' }, declared: true },
        { name: 'i', type: { type: 'integer' }, declared: true },
        { name: 'f', type: { type: 'float' }, declared: true },
        { name: 's', type: { type: 'string' }, declared: true },
        { name: 'b', type: { type: 'boolean' }, declared: true },
      ],
      FILE
    );
    parser.parse(
      Buffer.from(
        '{"t":"2001-01-01 00:01:00","i":-5,"f":0.1,"s":1.50,"b":1}\n' +
          '{"t":"2024-02-29T23:59:59.999+01:00","i":"7","f":"NaN","s":true,"b":"FALSE"}\n' +
          '{"t":"2023-06-26","i":null,"f":1e400,"s":"\\ud83d\\ude80","b":false}\n'
      ),
      { eof: true }
    );
    const datas = parser.finish().map((d) => d!);
    const b = assembleBatch(
      ['t', 'i', 'f', 's', 'b'],
      datas.map((d) => d.type),
      datas,
      3
    );
    expect(typesOf(b)).toEqual([
      't: Timestamp<MILLISECOND>',
      'i: Int32',
      'f: Float32',
      's: Utf8',
      'b: Bool',
    ]);
    expect(rows([b])).toEqual([
      { t: Date.UTC(2001, 0, 1, 0, 1), i: -5, f: Math.fround(0.1), s: '1.5', b: true },
      {
        t: Date.UTC(2024, 1, 29, 22, 59, 59, 999),
        i: 7,
        f: Number.NaN,
        s: 'true',
        b: false,
      },
      { t: Date.UTC(2023, 5, 26), i: null, f: Number.POSITIVE_INFINITY, s: '🚀', b: false },
    ]);
  });

  it('reads bytes that live in shared memory', () => {
    const text = Buffer.from('{"a":1,"s":"é"}\n{"a":2,"s":"x"}\n');
    const shared = new Uint8Array(new SharedArrayBuffer(text.length + 10), 5, text.length);
    shared.set(text);
    expect(rows([readText(shared)])).toEqual([
      { a: 1n, s: 'é' },
      { a: 2n, s: 'x' },
    ]);
  });

  it('a bare CR inside a line is JSON whitespace (only LF ends a line)', () => {
    expect(rows([readText('{"a":1,\r"b":2}\r\n')])).toEqual([{ a: 1n, b: 2n }]);
  });
});

describe('readNdjsonBatches', () => {
  it('reads lines cut by chunk ends, a 20 MB line, and batches of batchSize', async () => {
    const big = 'é'.repeat(10 << 20); // 20 MB of UTF-8 in one value (chunks are 8 MiB)
    const line = '{"n":1,"s":"short","t":"2001-01-01T00:00:00"}\n';
    const text = line.repeat(150_000) + `{"n":2,"s":"${big}"}\n` + line.repeat(100_000);
    const batches = await readFile(text, 65536);
    expect(batches.map((b) => b.numRows)).toEqual([65536, 65536, 65536, 53393]);
    const at = 150_000 - 2 * 65536;
    expect(batches[2]!.getChildAt(0)?.get(at)).toBe(2n);
    expect(batches[2]!.getChildAt(1)?.get(at)).toBe(big);
    expect(batches[2]!.getChildAt(1)?.get(at + 1)).toBe('short');
    expect(batches[3]!.getChildAt(1)?.get(53392)).toBe('short');
  });

  it('an error past the first chunk names the right line and absolute byte offset', async () => {
    const line = `{"n":1,"pad":"${'x'.repeat(90)}"}\n`;
    const lines = 100_000; // 10 MB: past the first 8 MiB chunk
    const text = Buffer.concat([
      Buffer.from(line.repeat(lines)),
      Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d, 0x0a]),
    ]);
    const e = await rejectionOf(readFile(text));
    expect(e.details).toMatchObject({ line: lines + 1, byteOffset: line.length * lines + 6 });
  });

  it('a file of blank lines yields no batch; a missing file is E_FILE_NOT_FOUND', async () => {
    expect(await readFile(' \n\t\r\n\n')).toEqual([]);
    const e = await rejectionOf(collect(readNdjsonBatches(join(dir, 'nope.ndjson'))));
    expect(e.code).toBe('E_FILE_NOT_FOUND');
  });
});
