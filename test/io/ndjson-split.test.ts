/**
 * The byte-level NDJSON parser against the reader it replaced (kept below as the reference:
 * one `JSON.parse` per line, then `TextBatchAssembler`), and split reads against one-thread reads.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { readNdjsonBatches } from '../../src/io/ndjson.js';
import {
  type NdjsonColumnSpec,
  type NdjsonParseResult,
  NdjsonRecordParser,
  inferNdjsonColumns,
  ndjsonLineStart,
  parseNdjsonRecords,
  rebaseNdjsonError,
} from '../../src/io/ndjson-split.js';
import {
  TextBatchAssembler,
  assembleBatch,
  signatureColumnTypes,
} from '../../src/io/text-columns.js';
import { num, scanNumber } from '../../src/io/ndjson-number.js';
import type { ColSpec, Schema, ValueType } from '../../src/signature/types.js';
import { collect, rows as rowObjects, tempDir, typesOf } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// The reference: the previous readNdjsonBatches, over text in memory instead of readline.

/** Lines as `readline` (crlfDelay: Infinity) gave them. */
function readlineLines(text: string): string[] {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function referenceRead(
  input: string,
  path: string,
  options: { schema?: Schema | null; batchSize?: number; warn?: (m: string) => void } = {}
): RecordBatch[] {
  const batchSize = options.batchSize ?? 65536;
  const warn = options.warn ?? (() => {});
  const out: RecordBatch[] = [];
  let pending: { row: Record<string, unknown>; line: number }[] = [];
  let assembler: TextBatchAssembler | null = null;
  const warned = new Set<string>();
  let lineNo = 0;

  const flush = (): RecordBatch => {
    if (assembler === null) {
      const names: string[] = [];
      const seen = new Set<string>();
      for (const { row } of pending) {
        for (const k of Object.keys(row)) {
          if (!seen.has(k)) {
            seen.add(k);
            names.push(k);
          }
        }
      }
      assembler = new TextBatchAssembler(
        names,
        signatureColumnTypes(options.schema, names),
        'json',
        path
      );
    }
    const a: TextBatchAssembler = assembler;
    const known = new Set(a.names);
    for (const { row, line } of pending) {
      for (const k of Object.keys(row)) {
        if (!known.has(k) && !warned.has(k)) {
          warned.add(k);
          warn(
            `${path}: line ${line}: key '${k}' did not appear in the first batch of ` +
              `${batchSize} rows; it is ignored so that every batch has the same columns.`
          );
        }
      }
      // The one change to the old code: it read `row[n]`, so a MISSING key named like an
      // Object.prototype member (`constructor`, `__proto__`, `toString`) took the inherited value.
      a.push(
        a.names.map((n) => (Object.hasOwn(row, n) ? row[n] : undefined)),
        line
      );
    }
    pending = [];
    return a.flush();
  };

  for (const text of readlineLines(new TextDecoder().decode(Buffer.from(input)))) {
    lineNo++;
    if (text.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      throw new ModelError(
        'E_FORMAT_MALFORMED',
        `${path}: line ${lineNo}: not valid JSON (${(e as Error).message}).`,
        { details: { file: path, line: lineNo }, cause: e }
      );
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new ModelError(
        'E_FORMAT_MALFORMED',
        `${path}: line ${lineNo}: expected a JSON object per line, found ${Array.isArray(row) ? 'an array' : JSON.stringify(row)}.`,
        { details: { file: path, line: lineNo } }
      );
    }
    pending.push({ row: row as Record<string, unknown>, line: lineNo });
    if (pending.length >= batchSize) out.push(flush());
  }
  if (pending.length > 0) out.push(flush());
  return out;
}

/** Rows as `[name, value]` pairs (a column may be named `__proto__`). */
function rows(batches: readonly RecordBatch[]): [string, unknown][][] {
  return batches.flatMap((b) => {
    const columns = b.schema.fields.map((_, i) =>
      rowObjects([renameTo(b.selectAt([i]), 'c')]).map((o) => o.c)
    );
    return Array.from({ length: b.numRows }, (_, r) =>
      b.schema.fields.map((f, i): [string, unknown] => [f.name, columns[i]![r]])
    );
  });
}

function renameTo(batch: RecordBatch, name: string): RecordBatch {
  const child = batch.data.children[0]!;
  return assembleBatch([name], [child.type], [child], batch.numRows);
}

// ---------------------------------------------------------------------------------------------
// Random NDJSON text.

const rawKeys = [
  'a',
  'b',
  'delay',
  'distance',
  'é',
  '日本',
  '🚀k',
  'q"k',
  'back\\s',
  'tab\tk',
  '__proto__',
  'constructor',
  'x y',
  '',
  'line\u2028sep',
];

/** A JSON string literal with each character randomly escaped or raw. */
function jsonString(s: string, escapes: readonly boolean[]): string {
  let out = '"';
  let i = 0;
  for (const ch of s) {
    const esc = escapes[i++ % Math.max(1, escapes.length)] === true;
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\')
      out += esc ? `\\u${code.toString(16).padStart(4, '0')}` : `\\${ch}`;
    else if (code < 0x20) {
      const short: Record<number, string> = { 8: 'b', 9: 't', 10: 'n', 12: 'f', 13: 'r' };
      out +=
        short[code] !== undefined && !esc
          ? `\\${short[code]}`
          : `\\u${code.toString(16).padStart(4, '0')}`;
    } else if (code >= 0xd800 && code <= 0xdfff)
      out += `\\u${code.toString(16)}`; // lone surrogate
    else if (ch === '/' && esc) out += '\\/';
    else if (esc) {
      for (let k = 0; k < ch.length; k++) {
        out += `\\u${ch.charCodeAt(k).toString(16).toUpperCase().padStart(4, '0')}`;
      }
    } else out += ch;
  }
  return out + '"';
}

const escapesArb = fc.array(fc.boolean(), { maxLength: 6 });
const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('12', ' 12 ', '1.5', 'true', 'TRUE', '1', '0', 'x', 'NaN', '-inf', 'AAEC', '007'),
  fc.constantFrom('\ud800', 'a\udc00b', '\ud83d\ude80', '\u0000', 'é', '"', '\\')
);
const stringLit = fc.tuple(text, escapesArb).map(([s, e]) => jsonString(s, e));

const intLit = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }).map(String),
  fc.constantFrom('0', '-0', '2147483647', '2147483648', '-2147483649')
);
const floatLit = fc.oneof(
  // (Integers of 16+ digits are read exactly, unlike JSON.parse: tested on their own.)
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((d) => JSON.stringify(d))
    .filter((t) => !/^-?\d{16,}$/.test(t)),
  fc
    .tuple(
      fc.boolean(),
      fc.oneof(fc.constant('0'), fc.integer({ min: 1, max: 10 ** 9 }).map(String)),
      fc.option(fc.stringMatching(/^[0-9]{1,20}$/), { nil: undefined }),
      fc.option(
        fc.tuple(
          fc.constantFrom('e', 'E'),
          fc.constantFrom('', '+', '-'),
          fc.integer({ min: 0, max: 400 })
        ),
        {
          nil: undefined,
        }
      )
    )
    .map(
      ([neg, i, f, e]) =>
        `${neg ? '-' : ''}${i}${f === undefined ? '' : `.${f}`}${e === undefined ? '' : `${e[0]}${e[1]}${e[2]}`}`
    ),
  fc.constantFrom(
    '1.0',
    '1e3',
    '1.5e1',
    '1e400',
    '-1e-400',
    '0.1',
    '5e-324',
    '1.7976931348623157e308'
  )
);
const dateText = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 0, max: 13 }),
      fc.integer({ min: 0, max: 32 }),
      fc.option(
        fc.tuple(
          fc.constantFrom('T', ' '),
          fc.integer({ min: 0, max: 24 }),
          fc.integer({ min: 0, max: 60 }),
          fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
          fc.option(fc.stringMatching(/^[.,][0-9]{1,10}$/), { nil: undefined }),
          fc.constantFrom('', 'Z', '+01:00', '-0530', '+02', '+5', 'z')
        ),
        { nil: undefined }
      )
    )
    .map(([y, mo, d, t]) => {
      const p = (n: number, w = 2): string => String(n).padStart(w, '0');
      let s = `${p(y, 4)}-${p(mo)}-${p(d)}`;
      if (t !== undefined) {
        const [sep, h, mi, sec, frac, zone] = t;
        s += `${sep}${p(h)}:${p(mi)}`;
        if (sec !== undefined) s += `:${p(sec)}${frac ?? ''}`;
        s += zone;
      }
      return s;
    }),
  fc.constantFrom(
    '2023',
    '2023-06',
    '2023-06-26T12',
    ' 2023-06-26 ',
    '2024-02-29',
    '2023-02-29',
    'x'
  )
);
const dateLit = fc.tuple(dateText, escapesArb).map(([s, e]) => jsonString(s, e));

const leaf = fc.oneof(intLit, floatLit, stringLit, fc.constantFrom('true', 'false', 'null'));
const arrayLit = fc
  .array(fc.oneof(intLit, intLit, stringLit, fc.constant('null')), { maxLength: 4 })
  .map((xs) => `[${xs.join(',')}]`);
const objectLit = fc
  .tuple(fc.option(intLit, { nil: undefined }), fc.option(stringLit, { nil: undefined }))
  .map(([x, y]) => {
    const parts: string[] = [];
    if (x !== undefined) parts.push(`"x":${x}`);
    if (y !== undefined) parts.push(`"y": ${y}`);
    return `{${parts.join(',')}}`;
  });

const kinds = ['int', 'float', 'bool', 'string', 'date', 'array', 'object', 'mixed'] as const;
type ValueKind = (typeof kinds)[number];

function valueOf(kind: ValueKind): fc.Arbitrary<string> {
  const main = {
    int: intLit,
    float: fc.oneof(floatLit, intLit),
    bool: fc.constantFrom('true', 'false'),
    string: stringLit,
    date: dateLit,
    array: arrayLit,
    object: objectLit,
    mixed: fc.oneof(leaf, arrayLit, objectLit),
  }[kind];
  return fc.oneof(
    { weight: 40, arbitrary: main },
    { weight: 3, arbitrary: fc.constant('null') },
    { weight: 1, arbitrary: leaf }
  );
}

const ws = fc.constantFrom('', '', '', ' ', '\t', ' \t ');

interface Gen {
  keys: { key: string; lit: string; kind: ValueKind }[];
}

const fileArb = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...rawKeys), { minLength: 1, maxLength: 6 }),
    fc.array(fc.constantFrom(...kinds), { minLength: 6, maxLength: 6 }),
    fc.array(escapesArb, { minLength: 6, maxLength: 6 })
  )
  .map(([keys, ks, escs]): Gen => ({
    keys: keys.map((key, i) => ({ key, lit: jsonString(key, escs[i]!), kind: ks[i]! })),
  }))
  .chain((g) => {
    const field = fc
      .integer({ min: 0, max: g.keys.length - 1 })
      .chain((i) =>
        fc
          .tuple(valueOf(g.keys[i]!.kind), ws, ws, ws)
          .map(([v, w1, w2, w3]) => `${w1}${g.keys[i]!.lit}${w2}:${w3}${v}`)
      );
    const record = fc
      .tuple(fc.array(field, { maxLength: 7 }), ws, ws)
      .map(([fields, w1, w2]) => `${w1}{${fields.join(',')}}${w2}`);
    const line = fc.oneof(
      { weight: 50, arbitrary: record },
      { weight: 4, arbitrary: fc.constantFrom('', '  ', '\t') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '[1]',
          '"x"',
          '{bad',
          '{"a":1,}',
          '{"a":1} x',
          '{"a" 1}',
          '3',
          'null',
          '{"a":tru}'
        ),
      }
    );
    return fc.tuple(
      fc.constant(g),
      fc.array(fc.tuple(line, fc.constantFrom('\n', '\n', '\r\n')), {
        minLength: 0,
        maxLength: 12,
      }),
      fc.boolean()
    );
  })
  .map(([g, lines, lastTerminated]) => {
    let s = lines.map(([l, t]) => l + t).join('');
    if (!lastTerminated && lines.length > 0) s = s.slice(0, s.endsWith('\r\n') ? -2 : -1);
    return { g, text: s };
  });

const signatureTypes: ValueType[] = [
  { type: 'long' },
  { type: 'integer' },
  { type: 'double' },
  { type: 'float' },
  { type: 'boolean' },
  { type: 'string' },
  { type: 'datetime' },
  { type: 'binary' },
  { type: 'array', items: { type: 'long' } },
  { type: 'array', items: { type: 'string' } },
  { type: 'map', values: { type: 'double' } },
  {
    type: 'object',
    properties: [
      { name: 'x', type: { type: 'long' }, required: false },
      { name: 'y', type: { type: 'string' }, required: false },
    ],
  },
  { type: 'any' },
];

const schemaArb = (keys: readonly string[]): fc.Arbitrary<ColSpec[] | null> =>
  fc.option(
    fc
      .array(fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...signatureTypes)), {
        maxLength: 4,
      })
      .map((pairs) => {
        const seen = new Set<string>();
        const out: ColSpec[] = [];
        for (const [name, type] of pairs) {
          if (seen.has(name)) continue;
          seen.add(name);
          out.push({ kind: 'column', name, type, required: false });
        }
        return out;
      }),
    { nil: null }
  );

const caseArb = fileArb.chain(({ g, text: t }) =>
  fc.record({
    text: fc.constant(t),
    schema: schemaArb(g.keys.map((k) => k.key)),
    batchSize: fc.constantFrom(1, 2, 3, 5, 65536),
  })
);

// ---------------------------------------------------------------------------------------------

const FILE = 'in.ndjson';
let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  await cleanup();
});

type Outcome =
  { ok: true; batches: RecordBatch[]; warnings: string[] } | { ok: false; error: unknown };

function outcomeOf(fn: (warn: (m: string) => void) => RecordBatch[]): Outcome {
  const warnings: string[] = [];
  try {
    return { ok: true, batches: fn((m) => warnings.push(m)), warnings };
  } catch (error) {
    return { ok: false, error };
  }
}

async function asyncOutcomeOf(
  fn: (warn: (m: string) => void) => Promise<RecordBatch[]>
): Promise<Outcome> {
  const warnings: string[] = [];
  try {
    return { ok: true, batches: await fn((m) => warnings.push(m)), warnings };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Compares outcomes. Two known differences are bugs of the old reader: a failure of the reference
 * that is not a ModelError (a RangeError for nesting too deep, or for a fractional number in a
 * datetime column) must now be E_FORMAT_MALFORMED; and a number in a datetime column that is not
 * whole epoch milliseconds (the old reader wrapped 1e20 silently around int64) is now refused.
 */
function expectSame(got: Outcome, want: Outcome, what: string): void {
  if (
    !got.ok &&
    ModelError.is(got.error) &&
    got.error.message.includes('whole epoch milliseconds')
  ) {
    return;
  }
  if (!want.ok) {
    expect(got.ok, `${what}: expected an error, got batches`).toBe(false);
    if (got.ok) return;
    expect(ModelError.is(got.error), `${what}: ${String(got.error)}`).toBe(true);
    const g = got.error as ModelError;
    if (ModelError.is(want.error)) {
      expect(g.message).toBe(want.error.message);
      expect(g.code).toBe(want.error.code);
      expect(g.details.line).toBe(want.error.details.line);
    } else {
      expect(g.code).toBe('E_FORMAT_MALFORMED');
    }
    return;
  }
  if (!got.ok) throw got.error;
  expect(got.batches.map((b) => b.numRows)).toEqual(want.batches.map((b) => b.numRows));
  got.batches.forEach((b, i) => {
    expect(typesOf(b)).toEqual(typesOf(want.batches[i]!));
  });
  expect(rows(got.batches)).toEqual(rows(want.batches));
  expect(got.warnings).toEqual(want.warnings);
}

/** Reads a whole buffer through the new API, batch by batch, in memory. */
function newRead(
  bytes: Uint8Array,
  schema: Schema | null,
  batchSize: number,
  warn: (m: string) => void
): RecordBatch[] {
  const head = inferNdjsonColumns(bytes, { eof: true, maxRows: batchSize, schema, file: FILE });
  if (head.rows === 0) return [];
  const names = head.columns.map((c) => c.name);
  const out: RecordBatch[] = [];
  const warned = new Set<string>();
  let pos = 0;
  let line = 1;
  for (;;) {
    const r = parseNdjsonRecords(bytes, {
      start: pos,
      eof: true,
      columns: head.columns,
      file: FILE,
      firstLine: line,
      maxRows: batchSize,
    });
    for (const { key, line: at } of r.unknownKeys) {
      if (warned.has(key)) continue;
      warned.add(key);
      warn(
        `${FILE}: line ${at}: key '${key}' did not appear in the first batch of ` +
          `${batchSize} rows; it is ignored so that every batch has the same columns.`
      );
    }
    if (r.rows > 0) {
      const datas = r.columns.map((d) => d!);
      out.push(
        assembleBatch(
          names,
          datas.map((d) => d.type),
          datas,
          r.rows
        )
      );
    }
    pos = r.next;
    line += r.lines;
    if (r.complete) return out;
  }
}

/**
 * readNdjsonBatches' loop over a file that arrives in pieces ending at `cuts`: the head grows
 * until the columns are known, then one NdjsonRecordParser gathers batches across buffers, a
 * line cut by a buffer end carried over to the next.
 */
function chunkedRead(
  all: Uint8Array,
  schema: Schema | null,
  batchSize: number,
  cuts: readonly number[],
  warn: (m: string) => void
): RecordBatch[] {
  const ends = [...new Set([...cuts.map((c) => c % (all.length + 1)), all.length])]
    .filter((c) => c > 0)
    .sort((x, y) => x - y);
  let k = 0;
  let offset = 0;
  let bytes = all.subarray(0, ends[0] ?? 0);
  let eof = (ends[0] ?? 0) === all.length;
  const more = (keep: number): void => {
    k++;
    offset += keep;
    bytes = all.subarray(offset, ends[k]);
    eof = ends[k] === all.length;
  };
  let head = inferNdjsonColumns(bytes, { eof, maxRows: batchSize, schema, file: FILE });
  while (!head.complete) {
    more(0);
    head = inferNdjsonColumns(bytes, { eof, maxRows: batchSize, schema, file: FILE });
  }
  if (head.rows === 0) return [];
  const names = head.columns.map((c) => c.name);
  const parser = new NdjsonRecordParser(head.columns, FILE);
  const warned = new Set<string>();
  const out: RecordBatch[] = [];
  const flush = (): void => {
    const rowCount = parser.rows;
    const datas = parser.finish().map((d) => d!);
    out.push(
      assembleBatch(
        names,
        datas.map((d) => d.type),
        datas,
        rowCount
      )
    );
  };
  let line = 1;
  let pos = 0;
  for (;;) {
    const chunk = parser.parse(bytes, {
      start: pos,
      eof,
      byteOffset: offset,
      firstLine: line,
      maxRows: batchSize - parser.rows,
    });
    line += chunk.lines;
    pos = chunk.next;
    for (const { key, line: at } of chunk.unknownKeys) {
      if (warned.has(key)) continue;
      warned.add(key);
      warn(
        `${FILE}: line ${at}: key '${key}' did not appear in the first batch of ` +
          `${batchSize} rows; it is ignored so that every batch has the same columns.`
      );
    }
    if (parser.rows >= batchSize) {
      flush();
      continue;
    }
    if (eof) break;
    more(pos);
    pos = 0;
  }
  if (parser.rows > 0) flush();
  return out;
}

describe('parseNdjsonRecords equals the JSON.parse + TextBatchAssembler reader', () => {
  it('on random NDJSON: values, types, warnings and errors (in memory)', () => {
    fc.assert(
      fc.property(caseArb, ({ text: t, schema, batchSize }) => {
        const want = outcomeOf((warn) => referenceRead(t, FILE, { schema, batchSize, warn }));
        const got = outcomeOf((warn) => newRead(Buffer.from(t), schema, batchSize, warn));
        expectSame(got, want, JSON.stringify(t));
      }),
      { numRuns: 600 }
    );
  });

  it('one parser fed the bytes in random pieces (lines cut and carried over)', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.array(fc.nat(), { maxLength: 8 }),
        ({ text: t, schema, batchSize }, cuts) => {
          const want = outcomeOf((warn) => referenceRead(t, FILE, { schema, batchSize, warn }));
          const got = outcomeOf((warn) =>
            chunkedRead(Buffer.from(t), schema, batchSize, cuts, warn)
          );
          expectSame(got, want, JSON.stringify(t));
        }
      ),
      { numRuns: 600 }
    );
  });

  it('readNdjsonBatches on random NDJSON files', async () => {
    const path = join(dir, FILE);
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ text: t, schema, batchSize }) => {
        await writeFile(path, t);
        const want = outcomeOf((warn) => referenceRead(t, path, { schema, batchSize, warn }));
        const got = await asyncOutcomeOf((warn) =>
          collect(readNdjsonBatches(path, { schema, batchSize, warn }))
        );
        expectSame(got, want, JSON.stringify(t));
      }),
      { numRuns: 100 }
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Splits.

/** One worker's read of split [a, b): positional reads from a-1, more bytes when a line runs on. */
function readSplit(
  full: Uint8Array,
  a: number,
  b: number,
  columns: readonly NdjsonColumnSpec[],
  tail: number
): { results: NdjsonParseResult[]; error?: unknown; first: number } {
  let base = Math.max(0, a - 1);
  let end = Math.min(full.length, b + tail);
  let bytes = full.subarray(base, end);
  let start = ndjsonLineStart(bytes, a - base, base);
  while (start === -1 && end < full.length) {
    end = Math.min(full.length, end + tail + 1);
    bytes = full.subarray(base, end);
    start = ndjsonLineStart(bytes, a - base, base);
  }
  const first = start === -1 ? full.length : base + start;
  const results: NdjsonParseResult[] = [];
  if (start === -1 || base + start >= b) return { results, first };
  let line = 1;
  try {
    for (;;) {
      const r = parseNdjsonRecords(bytes, {
        start,
        stop: b - base,
        eof: end === full.length,
        byteOffset: base,
        firstLine: line,
        columns,
        file: FILE,
      });
      results.push(r);
      if (r.complete) return { results, first };
      line += r.lines;
      base += r.next;
      end = Math.min(full.length, end + tail + 1);
      bytes = full.subarray(base, end);
      start = 0;
    }
  } catch (error) {
    return { results, error, first };
  }
}

function countLines(bytes: Uint8Array, to: number): number {
  let n = 0;
  for (let i = 0; i < to; i++) if (bytes[i] === 0x0a) n++;
  return n;
}

function columnValues(results: readonly NdjsonParseResult[], names: readonly string[]): unknown[] {
  const batches = results
    .filter((r) => r.rows > 0)
    .map((r) => {
      const kept = names.filter((_, i) => r.columns[i] !== null);
      const datas = r.columns.filter((d) => d !== null);
      return assembleBatch(
        kept,
        datas.map((d) => d.type),
        datas,
        r.rows
      );
    });
  return rows(batches);
}

describe('split reads equal one-thread reads', () => {
  const splitCase = fc.tuple(
    caseArb,
    fc.array(fc.nat(), { maxLength: 6 }),
    fc.integer({ min: 0, max: 40 }),
    fc.boolean()
  );

  it('concatenated splits give the one-thread rows (or its first syntax error)', () => {
    fc.assert(
      fc.property(splitCase, ([{ text: t, schema }, cuts, tail, project]) => {
        const full = Buffer.from(t);
        let head;
        try {
          head = inferNdjsonColumns(full, { eof: true, maxRows: 1e9, schema, file: FILE });
        } catch {
          return;
        }
        const columns: NdjsonColumnSpec[] = head.columns.map((c, i) =>
          project && i % 2 === 1 ? { ...c, type: 'skip' } : c
        );
        const names = columns.map((c) => c.name);
        let whole: NdjsonParseResult | undefined;
        let wholeError: unknown;
        try {
          whole = parseNdjsonRecords(full, { eof: true, columns, file: FILE });
        } catch (e) {
          wholeError = e;
        }
        const points = [
          ...new Set([0, ...cuts.map((c) => c % (full.length + 1)), full.length]),
        ].sort((x, y) => x - y);
        const results: NdjsonParseResult[] = [];
        let splitError: unknown;
        let errorLinesBefore = 0;
        for (let i = 0; i + 1 < points.length; i++) {
          const [a, b] = [points[i]!, points[i + 1]!];
          const piece = readSplit(full, a, b, columns, tail);
          results.push(...piece.results);
          if (piece.error !== undefined) {
            splitError = piece.error;
            errorLinesBefore = countLines(full, piece.first);
            break;
          }
        }
        if (whole !== undefined) {
          expect(splitError).toBeUndefined();
          expect(results.reduce((n, r) => n + r.rows, 0)).toBe(whole.rows);
          expect(columnValues(results, names)).toEqual(columnValues([whole], names));
          // The byte ranges tile the file: the last split ends at its end.
          return;
        }
        expect(ModelError.is(splitError)).toBe(true);
        const w = wholeError as ModelError;
        const s = rebaseNdjsonError(splitError, errorLinesBefore) as ModelError;
        if (w.details.column === undefined && s.details.column === undefined) {
          expect(s.message).toBe(w.message);
          expect(s.details).toEqual(w.details);
        }
      }),
      { numRuns: 600 }
    );
  });

  it('a record longer than a split, empty splits, a file smaller than one split, CRLF, BOM', () => {
    const long = 'x'.repeat(1000);
    const t = `\uFEFF{"a":1,"s":"${long}"}\r\n\r\n{"a":2,"s":"b"}\n{"a":3,"s":"${long}"}`;
    const full = Buffer.from(t);
    const head = inferNdjsonColumns(full, { eof: true, maxRows: 10, file: FILE });
    expect(head.columns.map((c) => c.name)).toEqual(['a', 's']);
    const names = ['a', 's'];
    const whole = parseNdjsonRecords(full, { eof: true, columns: head.columns, file: FILE });
    expect(whole.rows).toBe(3);
    for (const size of [1, 7, 100, 999, 1000, 5000]) {
      const results: NdjsonParseResult[] = [];
      for (let a = 0; a < full.length; a += size) {
        results.push(
          ...readSplit(full, a, Math.min(full.length, a + size), head.columns, 3).results
        );
      }
      expect(columnValues(results, names)).toEqual(columnValues([whole], names));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Numbers, strings and date-times from bytes against their JS definitions.

function oneCell(literal: string, type: ValueType): { value?: unknown; error?: ModelError } {
  try {
    const r = parseNdjsonRecords(Buffer.from(`{"v":${literal}}\n`), {
      eof: true,
      columns: [{ name: 'v', type, declared: true }],
      file: FILE,
    });
    return {
      value: rowObjects([assembleBatch(['v'], [r.columns[0]!.type], [r.columns[0]!], 1)])[0]!.v,
    };
  } catch (e) {
    return { error: e as ModelError };
  }
}

function viaAssembler(literal: string, type: ValueType): { value?: unknown; error?: ModelError } {
  try {
    const a = new TextBatchAssembler(['v'], [type], 'json', FILE);
    a.push([JSON.parse(literal)], 1);
    return { value: rowObjects([a.flush()])[0]!.v };
  } catch (e) {
    return { error: e as ModelError };
  }
}

describe('cells from bytes', () => {
  it('floats are exactly Number(text)', () => {
    fc.assert(
      fc.property(floatLit, (lit) => {
        expect(oneCell(lit, { type: 'double' }).value).toBe(Number(lit));
      }),
      { numRuns: 1000 }
    );
  });

  it('16-19 digit decimals, near rounding midpoints included, are exactly Number(text)', () => {
    const read = (t: string): number => {
      const b = Buffer.from(t);
      expect(scanNumber(b, 0, b.length)).toBe(b.length);
      return num.value;
    };
    // A decimal within a few units of its last digit of the midpoint between a double and the
    // next: the hardest inputs for a fast path.
    const f = new Float64Array(1);
    const u = new BigUint64Array(f.buffer);
    const nearMidpoint = fc
      .tuple(
        fc.double({ min: 1e-7, max: 1e18, noNaN: true }),
        fc.integer({ min: 16, max: 19 }),
        fc.integer({ min: -2, max: 2 })
      )
      .map(([x, keep, delta]) => {
        f[0] = x;
        const bits = u[0]!;
        const e2 = Number((bits >> 52n) & 0x7ffn) - 1075 - 1;
        const m = 2n * ((bits & ((1n << 52n) - 1n)) | (1n << 52n)) + 1n;
        const digits = e2 >= 0 ? (m << BigInt(e2)).toString() : (m * 5n ** BigInt(-e2)).toString();
        const dexp = e2 >= 0 ? 0 : -e2;
        const head = (BigInt(digits.slice(0, keep)) + BigInt(delta)).toString();
        const pow = digits.length - Math.min(keep, digits.length) - dexp;
        if (pow >= 0) return head + '0'.repeat(pow);
        if (-pow < head.length)
          return `${head.slice(0, head.length + pow)}.${head.slice(head.length + pow)}`;
        return `0.${'0'.repeat(-pow - head.length)}${head}`;
      });
    const longDecimal = fc
      .tuple(fc.stringMatching(/^[1-9][0-9]{15,18}$/), fc.nat(22), fc.boolean())
      .map(([d, point, neg]) => {
        const at = Math.max(0, d.length - point);
        const t =
          at === 0 ? `0.${d}` : `${d.slice(0, at)}${at < d.length ? '.' : ''}${d.slice(at)}`;
        return neg ? `-${t}` : t;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          nearMidpoint,
          longDecimal,
          // Exact midpoints between two doubles (ties go to even).
          fc.constantFrom(
            '4503599627370497.5',
            '4503599627370498.5',
            '9007199254740993',
            '9007199254740995',
            '-2251799813685248.25',
            '1125899906842624.125',
            '0.30000000000000004',
            '9999999999999999999'
          )
        ),
        (t) => {
          expect(read(t)).toBe(Number(t));
        }
      ),
      { numRuns: 20000 }
    );
  });

  it('date-times parsed from bytes equal the text parser (values and errors)', () => {
    fc.assert(
      fc.property(dateLit, (lit) => {
        const got = oneCell(lit, { type: 'datetime' });
        const want = viaAssembler(lit, { type: 'datetime' });
        expect(got.error?.message).toBe(want.error?.message);
        expect(got.value).toEqual(want.value);
      }),
      { numRuns: 1000 }
    );
  });

  it('strings with escapes and lone surrogates decode as JSON.parse + TextEncoder', () => {
    fc.assert(
      fc.property(stringLit, (lit) => {
        const got = oneCell(lit, { type: 'string' });
        expect(got.value).toBe(
          new TextDecoder().decode(new TextEncoder().encode(JSON.parse(lit) as string))
        );
      }),
      { numRuns: 1000 }
    );
  });

  it('integers of more than 15 digits are exact (JSON.parse rounds them)', () => {
    expect(oneCell('9007199254740993', { type: 'long' }).value).toBe(9007199254740993n);
    expect(oneCell('-9223372036854775808', { type: 'long' }).value).toBe(-9223372036854775808n);
    expect(oneCell('9223372036854775807', { type: 'long' }).value).toBe(9223372036854775807n);
    const e = oneCell('9223372036854775808', { type: 'long' }).error!;
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toBe(
      `${FILE}: line 1, column 'v': cannot read "9223372036854775808" as long (integer 9223372036854775808 is out of range for int64).`
    );
    expect(oneCell('12345678901234567', { type: 'integer' }).error?.message).toContain(
      'integer 12345678901234567 is out of range for int32'
    );
    expect(oneCell('12345678901234567', { type: 'double' }).value).toBe(12345678901234567);
  });

  it('a fractional number in a datetime column is a coded error (the old reader threw a RangeError)', () => {
    const e = oneCell('1.5', { type: 'datetime' }).error!;
    expect(e.code).toBe('E_FORMAT_MALFORMED');
    expect(e.message).toContain('whole epoch milliseconds');
    expect(oneCell('86400000', { type: 'datetime' }).value).toBe(86400000);
  });
});
