/**
 * Properties of the CSV byte reader over random files: it reads what the old string path read
 * (kept below as the reference), however the bytes arrive, and any split of a file read as the
 * score driver reads splits gives exactly the one-thread result.
 */
import { type RecordBatch } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { rebaseCsvError } from '../../src/io/csv-errors.js';
import { inferCsvTypes } from '../../src/io/csv-infer.js';
import { type CsvColumnSpec, type CsvColumns, parseCsvRecords } from '../../src/io/csv-records.js';
import { csvHeader, readCsvSplit } from '../../src/io/csv-split.js';
import { readCsvChunks, readCsvText } from '../../src/io/csv.js';
import {
  TextBatchAssembler,
  assembleBatch,
  convertText,
  inferTextType,
  signatureColumnTypes,
  textColumnArrowType,
  valueTypeName,
} from '../../src/io/text-columns.js';
import type { ColSpec, ValueType } from '../../src/signature/types.js';
import { collect, rows, typesOf } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// The reference: the string tokenizer + TextBatchAssembler path jsfunc used before the byte
// reader, copied from src/io/csv-tokenizer.ts and src/io/csv.ts. Two deliberate changes (see
// the byte reader's docs): a lone `\r` inside a quoted field counts as a line end (it did not),
// and the text is taken whole (the reference is only run on valid UTF-8).
// ---------------------------------------------------------------------------------------------

interface RefRecord {
  fields: (string | null)[];
  quoted: boolean[];
  line: number;
}

class RefSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number
  ) {
    super(message);
  }
}

function* refTokenize(text: string): Generator<RefRecord> {
  let s = text;
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  const n = s.length;
  let lineNo = 1;
  let i = 0;
  while (i < n) {
    const startLine = lineNo;
    let line = lineNo;
    const c0 = s.charCodeAt(i);
    if (c0 === 10 || c0 === 13) {
      i += c0 === 13 && s.charCodeAt(i + 1) === 10 ? 2 : 1;
      lineNo++;
      continue;
    }
    const fields: (string | null)[] = [];
    const quoted: boolean[] = [];
    for (;;) {
      if (i < n && s.charCodeAt(i) === 34) {
        let j = i + 1;
        let value = '';
        for (;;) {
          const k = s.indexOf('"', j);
          if (k < 0) {
            throw new RefSyntaxError(
              `Quote not closed: the field that opens on line ${line} never ends`,
              line
            );
          }
          value += s.slice(j, k);
          if (s.charCodeAt(k + 1) === 34) {
            value += '"';
            j = k + 2;
            continue;
          }
          i = k + 1;
          break;
        }
        // Changed: `\n`, `\r\n` and a lone `\r` each count once (was: `\n` only).
        for (let p = 0; p < value.length; p++) {
          const c = value.charCodeAt(p);
          if (c === 10 || (c === 13 && value.charCodeAt(p + 1) !== 10)) line++;
        }
        fields.push(value);
        quoted.push(true);
        const c = i < n ? s.charCodeAt(i) : -1;
        if (c !== 44 && c !== 10 && c !== 13 && c !== -1) {
          throw new RefSyntaxError(
            `Invalid closing quote on line ${line}: text follows the closing quote`,
            line
          );
        }
      } else {
        let j = i;
        while (j < n) {
          const c = s.charCodeAt(j);
          if (c === 44 || c === 10 || c === 13) break;
          j++;
        }
        fields.push(j === i ? null : s.slice(i, j));
        quoted.push(false);
        i = j;
      }
      if (i >= n) break;
      const c = s.charCodeAt(i);
      if (c === 44) {
        i++;
        continue;
      }
      i += c === 13 && s.charCodeAt(i + 1) === 10 ? 2 : 1;
      line++;
      break;
    }
    lineNo = line;
    yield { fields, quoted, line: startLine };
  }
}

/**
 * The old `readCsvText` (tokenizer, `inferTextType` over the first batch, `convertText`,
 * `TextBatchAssembler`), with the byte reader's error ORDER: the first record with a problem
 * wins (the old reader tokenized a whole chunk before converting, and converted a batch column
 * by column, so with two bad records it could report either, depending on chunking; a split
 * read can only promise file order). A syntax error or a wrong field count also ends the
 * inference sample.
 */
function refRead(text: string, schema: ColSpec[] | null, batchSize: number): RecordBatch[] {
  const file = 'CSV input';
  const syntax = (e: unknown) => {
    if (!(e instanceof RefSyntaxError)) return e;
    return new ModelError('E_FORMAT_MALFORMED', `${file}: line ${e.line}: ${e.message}`);
  };
  const records = refTokenize(text);
  const take = (): RefRecord | null | Error => {
    try {
      return records.next().value ?? null;
    } catch (e) {
      return syntax(e) as Error;
    }
  };
  const head = take();
  if (head === null) return [];
  if (head instanceof Error) throw head;
  const names = head.fields.map((n, i) => n ?? `Unnamed: ${i}`);
  const width = names.length;
  const declared = signatureColumnTypes(schema, names);
  const countError = (r: RefRecord) =>
    new ModelError(
      'E_FORMAT_MALFORMED',
      `${file}: line ${r.line}: expected ${width} fields (as in the header), found ${r.fields.length}.`
    );
  // The inference sample: the first batch, up to the first syntax or field-count error.
  const sample: RefRecord[] = [];
  let pending: Error | null = null;
  while (sample.length < batchSize) {
    const r = take();
    if (r === null) break;
    if (r instanceof Error || r.fields.length !== width) {
      pending = r instanceof Error ? r : countError(r);
      break;
    }
    sample.push(r);
  }
  const types = names.map((_, i) => {
    const t = declared[i] ?? null;
    if (t !== null && textColumnArrowType(t) !== null) return t;
    const cells = sample.map((r) => r.fields[i] ?? null);
    const quoted = sample.some((r) => r.quoted[i] === true && r.fields[i] !== '');
    return inferTextType(cells, quoted);
  });
  const inferred = names.map(
    (_, i) => declared[i] == null || textColumnArrowType(declared[i]!) === null
  );
  const out: RecordBatch[] = [];
  let batch = new TextBatchAssembler(names, types, 'csv', file);
  const add = (r: RefRecord) => {
    if (r.fields.length !== width) throw countError(r);
    r.fields.forEach((cell, i) => {
      try {
        convertText(cell, types[i]!);
      } catch (e) {
        const hint = inferred[i]
          ? ' The type was inferred from the first batch; declare the column in the model signature to fix it.'
          : '';
        throw new ModelError(
          'E_FORMAT_MALFORMED',
          `${file}: line ${r.line}, column '${names[i]}': cannot read ${JSON.stringify(cell)} as ` +
            `${valueTypeName(types[i]!)} (${(e as Error).message}).${hint}`
        );
      }
    });
    batch.push(r.fields, r.line, r.quoted);
    if (batch.size >= batchSize) {
      out.push(batch.flush());
      batch = new TextBatchAssembler(names, types, 'csv', file);
    }
  };
  for (const r of sample) add(r);
  if (pending !== null) throw pending;
  for (let r = take(); r !== null; r = take()) {
    if (r instanceof Error) throw r;
    add(r);
  }
  if (batch.size > 0 || out.length === 0) out.push(batch.flush());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Random CSV files
// ---------------------------------------------------------------------------------------------

type Style = 'int' | 'float' | 'bool' | 'date' | 'string' | 'mixed' | 'b64';
const STYLES: Style[] = ['int', 'float', 'bool', 'date', 'string', 'mixed'];
/** Declared types, each with the cell style that fits it. */
const DECLARED: [ValueType, Style][] = [
  [{ type: 'integer' }, 'int'],
  [{ type: 'long' }, 'int'],
  [{ type: 'float' }, 'float'],
  [{ type: 'double' }, 'float'],
  [{ type: 'boolean' }, 'bool'],
  [{ type: 'string' }, 'mixed'],
  [{ type: 'datetime' }, 'date'],
  [{ type: 'binary' }, 'b64'],
];

const textChars = fc.constantFrom(
  'a',
  'b',
  'Z',
  ',',
  '"',
  '\n',
  '\r',
  ' ',
  'é',
  '🚀',
  '\u00a0',
  '0',
  '7',
  '.',
  '-',
  'e',
  'T',
  ':'
);

const pad = (n: number, w: number) => String(n).padStart(w, '0');

function cellArb(style: Style): fc.Arbitrary<string> {
  switch (style) {
    case 'int':
      return fc.oneof(
        fc.integer({ min: -2147483648, max: 2147483647 }).map(String),
        fc.integer({ min: -999, max: 999 }).map(String),
        fc.constantFrom(' 12 ', '+5', '-0', '0', '2147483647', '-2147483648'),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
        fc.constantFrom('9223372036854775808', '-9223372036854775809', '1234567890123456')
      );
    case 'float':
      return fc.oneof(
        fc.double({ noDefaultInfinity: false }).map(String),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((x) => x.toFixed(3)),
        fc.integer({ min: -99999, max: 99999 }).map((x) => `${x / 100}`),
        fc.constantFrom('1.', '.5', '+.5', '1e5', '1E-7', 'NaN', '-inf', 'Infinity', '-0.0'),
        fc.constantFrom('0.1000000000000000055511151231257827', '123456789012345678', '9e22')
      );
    case 'bool':
      return fc.constantFrom('true', 'false', 'TRUE', 'False', ' true ');
    case 'date':
      return fc
        .tuple(
          fc.integer({ min: 0, max: 9999 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 28 }),
          fc.integer({ min: 0, max: 23 }),
          fc.integer({ min: 0, max: 59 }),
          fc.integer({ min: 0, max: 59 }),
          fc.constantFrom('', '.5', '.123', '.123456789', '.12'),
          fc.constantFrom('', 'Z', '+05:30', '-0800', '+01'),
          fc.constantFrom('T', ' '),
          fc.constantFrom(0, 1, 2)
        )
        .map(([y, mo, d, h, mi, s, frac, zone, sep, shape]) => {
          const date = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${sep}${pad(h, 2)}:${pad(mi, 2)}`;
          if (shape === 0) return date;
          if (shape === 1) return `${date}:${pad(s, 2)}${zone}`;
          return `${date}:${pad(s, 2)}${frac}${zone}`;
        });
    case 'string':
      return fc.string({ unit: textChars, maxLength: 8 });
    case 'b64':
      return fc.uint8Array({ maxLength: 7 }).map((b) => Buffer.from(b).toString('base64'));
    default:
      return fc.oneof(cellArb('int'), cellArb('float'), cellArb('string'), fc.constant('007'));
  }
}

/** A cell as written in the file: quoted when it must be, sometimes when it need not be. */
function writeCell(value: string | null, quote: boolean): string {
  if (value === null) return '';
  const must = /[",\r\n]/.test(value);
  return must || quote ? `"${value.replaceAll('"', '""')}"` : value;
}

interface Spec {
  text: string;
  schema: ColSpec[] | null;
  batchSize: number;
}

type Fault = 'none' | 'fields' | 'unclosed' | 'after-quote' | 'value' | 'stray-quote';

function csvArb(faults: Fault[]): fc.Arbitrary<Spec> {
  return fc
    .record({
      cols: fc.array(
        fc.record({
          style: fc.constantFrom(...STYLES),
          declared: fc.option(fc.constantFrom(...DECLARED), { freq: 3 }),
        }),
        { minLength: 1, maxLength: 5 }
      ),
      rows: fc.integer({ min: 0, max: 12 }),
      seed: fc.array(fc.nat(), { minLength: 200, maxLength: 200 }),
      eol: fc.constantFrom('\n', '\r\n', '\r', 'mixed'),
      bom: fc.boolean(),
      finalEol: fc.boolean(),
      batchSize: fc.integer({ min: 1, max: 5 }),
      fault: fc.constantFrom(...faults),
      faultAt: fc.nat(),
    })
    .chain((p) =>
      fc
        .tuple(
          ...p.cols.map((c) =>
            fc.array(
              fc.oneof(
                { weight: 6, arbitrary: cellArb(c.declared?.[1] ?? c.style) },
                { weight: 1, arbitrary: fc.constant(null) },
                { weight: 1, arbitrary: fc.constant('') }
              ),
              { minLength: p.rows, maxLength: p.rows }
            )
          )
        )
        .map((cells) => ({ p, cells }))
    )
    .map(({ p, cells }) => {
      let k = 0;
      const rnd = (n: number) => (p.seed[k++ % p.seed.length]! + k) % n;
      const eol = () => (p.eol === 'mixed' ? (['\n', '\r\n', '\r'] as const)[rnd(3)]! : p.eol);
      const names = p.cols.map((_, i) => (i === 1 && rnd(3) === 0 ? `c,${i}` : `c${i}`));
      const lines: string[] = [names.map((n) => writeCell(n, false)).join(',')];
      for (let r = 0; r < p.rows; r++) {
        const row = p.cols.map((c, i) => {
          const v = cells[i]![r] ?? null;
          // Inferred columns: a quoted value would make them strings; quote only sometimes.
          const q = c.declared === null ? rnd(8) === 0 : rnd(3) === 0;
          return writeCell(v, q);
        });
        lines.push(row.join(','));
      }
      const faultRow = 1 + (p.faultAt % Math.max(1, p.rows));
      if (p.rows > 0 && p.fault !== 'none') {
        const cur = lines[faultRow]!;
        switch (p.fault) {
          case 'fields':
            lines[faultRow] =
              rnd(2) === 0 ? `${cur},x` : cur.slice(0, Math.max(0, cur.lastIndexOf(',')));
            if (p.cols.length === 1 && lines[faultRow] === '') lines[faultRow] = 'a,b';
            break;
          case 'unclosed':
            lines[faultRow] = `${cur.slice(0, cur.lastIndexOf(',') + 1)}"ab`;
            lines.length = faultRow + 1;
            break;
          case 'after-quote':
            lines[faultRow] =
              `"x"y${cur.slice(cur.indexOf(',') < 0 ? cur.length : cur.indexOf(','))}`;
            break;
          case 'stray-quote':
            lines[faultRow] =
              `x"y${cur.slice(cur.indexOf(',') < 0 ? cur.length : cur.indexOf(','))}`;
            break;
          case 'value': {
            const i = p.cols.findIndex((c) => c.declared !== null && c.declared[1] !== 'mixed');
            if (i >= 0) {
              const fields = p.cols.map((_, j) => (j === i ? 'bad' : ''));
              lines[faultRow] = fields.join(',');
            }
            break;
          }
          default:
            break;
        }
      }
      let text = p.bom ? '\uFEFF' : '';
      if (rnd(4) === 0) text += eol(); // an empty line before the header
      for (let i = 0; i < lines.length; i++) {
        text += lines[i];
        if (i < lines.length - 1 || p.finalEol) text += eol();
        if (rnd(6) === 0 && i < lines.length - 1) text += eol(); // empty lines
      }
      const schema = p.cols.some((c) => c.declared !== null)
        ? p.cols.flatMap((c, i) =>
            c.declared === null
              ? []
              : [{ kind: 'column' as const, name: names[i]!, type: c.declared[0], required: true }]
          )
        : null;
      return { text, schema, batchSize: p.batchSize };
    });
}

type Outcome = { ok: true; batches: unknown } | { ok: false; code: string; message: string };

async function outcome(f: () => Promise<RecordBatch[]> | RecordBatch[]): Promise<Outcome> {
  try {
    const batches = await f();
    return {
      ok: true,
      batches: batches.map((b) => ({ n: b.numRows, types: typesOf(b), rows: rows([b]) })),
    };
  } catch (e) {
    if (!ModelError.is(e)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}

/** Random cuts of the bytes into chunks (inside multi-byte characters too). */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

describe('CSV byte reader = the old string reader', () => {
  it('values, types, batches and errors agree on random files (faults included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvArb(['none', 'none', 'none', 'fields', 'unclosed', 'after-quote', 'value']),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (spec, cuts) => {
          const { text, schema, batchSize } = spec;
          const expected = await outcome(() => refRead(text, schema, batchSize));
          const actual = await outcome(() => collect(readCsvText(text, { schema, batchSize })));
          expect(actual).toEqual(expected);
          // However the bytes arrive: the same again.
          const bytes = Buffer.from(text, 'utf8');
          const pieces = chunked(bytes, cuts);
          const streamed = await outcome(() =>
            collect(readCsvChunks(() => pieces, { name: 'CSV input', schema, batchSize }))
          );
          expect(streamed).toEqual(expected);
        }
      ),
      { numRuns: 400 }
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Split equivalence: the driver's protocol, simulated
// ---------------------------------------------------------------------------------------------

interface Whole {
  rows: unknown[];
  starts: number[];
  ends: number[];
  lines: number;
  error: string | null;
}

function toRows(names: string[], cols: CsvColumns): unknown[] {
  const keep = cols.columns.flatMap((c, i) => (c === null ? [] : [i]));
  const batch = assembleBatch(
    keep.map((i) => names[i]!),
    keep.map((i) => cols.types[i]!),
    keep.map((i) => cols.columns[i]!),
    cols.rows
  );
  return rows([batch]);
}

/** What the simulated driver had to do (targeted cases check their case really happened). */
const stats = { reruns: 0, empty: 0 };

/** The score driver's fold over splits: verify guesses, re-run wrong ones, check the chain. */
async function readBySplits(
  file: Uint8Array,
  names: string[],
  columns: CsvColumnSpec[],
  dataStart: number,
  dataLine: number,
  points: number[],
  margins: number[]
): Promise<Whole> {
  const bounds = [dataStart, ...points, file.length];
  const out: Whole = { rows: [], starts: [], ends: [], lines: 0, error: null };
  let state: 0 | 1 = 0;
  let line = dataLine;
  let prevNext = dataStart;
  // Positional reads of at most 7 bytes at a time: the window logic gets exercised.
  const read = async (position: number, length: number) =>
    file.subarray(position, position + Math.min(length, 7));
  for (let k = 0; k + 1 < bounds.length; k++) {
    const a = bounds[k]!;
    const b = bounds[k + 1]!;
    const task = {
      read,
      fileSize: file.length,
      dataStart,
      start: a,
      end: b,
      inQuotes: null as boolean | null,
      columns,
      file: 'f.csv',
      recordBounds: true,
      readAhead: margins[k % Math.max(1, margins.length)] ?? 8,
    };
    let r = await readCsvSplit(task);
    if (r.guessParity !== null && r.guessParity !== state) {
      stats.reruns++;
      r = await readCsvSplit({ ...task, inQuotes: state === 1 });
    }
    if (r.recordStart >= b) stats.empty++;
    expect(r.recordStart, `split ${k} starts where split ${k - 1} ended`).toBe(prevNext);
    if (r.error !== null) {
      const error = (rebaseCsvError(r.error, line - 1) as Error).message;
      return { rows: [], starts: [], ends: [], lines: 0, error };
    }
    out.rows.push(...toRows(names, r));
    out.starts.push(...r.recordStarts!);
    out.ends.push(...r.recordEnds!);
    // The split's bytes are its records, verbatim.
    expect(Buffer.from(r.bytes).equals(file.subarray(r.recordStart, r.next))).toBe(true);
    line += r.lines;
    out.lines += r.lines;
    state = (state ^ r.parity) as 0 | 1;
    prevNext = r.next;
  }
  expect(prevNext).toBe(file.length);
  return out;
}

function readWhole(
  file: Uint8Array,
  names: string[],
  columns: CsvColumnSpec[],
  dataStart: number,
  dataLine: number
): Whole {
  try {
    const r = parseCsvRecords(file, {
      start: dataStart,
      stop: file.length,
      eof: true,
      line: dataLine,
      file: 'f.csv',
      columns,
      recordBounds: true,
    });
    return {
      rows: toRows(names, r),
      starts: [...r.recordStarts!],
      ends: [...r.recordEnds!],
      lines: r.lines,
      error: null,
    };
  } catch (e) {
    return { rows: [], starts: [], ends: [], lines: 0, error: (e as Error).message };
  }
}

/** Header, types and column specs the driver fixes once (some columns projected away). */
function plan(bytes: Uint8Array, schema: ColSpec[] | null, skip: number) {
  const h = csvHeader(bytes, true, 'f.csv')!;
  const known = signatureColumnTypes(schema, h.names);
  const types = inferCsvTypes(bytes, h.dataStart, h.names, known, 3, { eof: true })!;
  const columns: CsvColumnSpec[] = h.names.map((name, i) => ({
    name,
    type: i > 0 && (skip >> i) % 2 === 1 ? 'skip' : types[i]!,
    inferred: known[i] === null,
  }));
  return { h, columns };
}

/**
 * Runs the split protocol at the given points and compares with the one-thread read.
 *
 * @returns the one-thread result (for extra assertions)
 */
async function checkSplits(
  bytes: Uint8Array,
  schema: ColSpec[] | null,
  points: number[],
  margins: number[] = [8],
  skip = 0
): Promise<Whole> {
  const { h, columns } = plan(bytes, schema, skip);
  const whole = readWhole(bytes, h.names, columns, h.dataStart, h.dataLine);
  const inData = points.filter((p) => p > h.dataStart && p < bytes.length).sort((x, y) => x - y);
  const split = await readBySplits(
    bytes,
    h.names,
    columns,
    h.dataStart,
    h.dataLine,
    inData,
    margins
  );
  expect(split).toEqual(whole);
  return whole;
}

describe('split reading = one-thread reading', () => {
  it('holds for random files, random split points and window sizes (errors included)', async () => {
    Object.assign(stats, { reruns: 0, empty: 0 });
    await fc.assert(
      fc.asyncProperty(
        csvArb(['none', 'none', 'fields', 'unclosed', 'after-quote', 'value', 'stray-quote']),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 4 }),
        fc.nat(31),
        async (spec, cuts, margins, skip) => {
          const bytes = Buffer.from(spec.text, 'utf8');
          if (csvHeader(bytes, true, 'f.csv')!.names.length === 0) return;
          await checkSplits(
            bytes,
            spec.schema,
            cuts.map((c) => c % (bytes.length + 1)),
            margins,
            skip
          );
        }
      ),
      { numRuns: 600 }
    );
    // The random files do exercise wrong guesses and splits without a record start.
    expect(stats.reruns).toBeGreaterThan(0);
    expect(stats.empty).toBeGreaterThan(0);
  });

  it('holds at every split point of files with multi-line quoted fields', async () => {
    const files = [
      'a,b\n1,"x\ny"\n2,"p\r\nq\r\n"\r\n3,""""\n',
      'a,b\r"1","multi\rline\r"\r2,z\r',
      '\uFEFFa,b\n1,"é🚀\n,"""\n2,x',
      'a\n"\n\n\n"\n\n"x"\n',
    ];
    for (const text of files) {
      const bytes = Buffer.from(text, 'utf8');
      for (let p = 1; p < bytes.length; p++) {
        for (let q = p; q < bytes.length; q += 3) await checkSplits(bytes, null, [p, q], [1, 5]);
      }
    }
    expect(files).toHaveLength(4);
  });
});

describe('split boundaries (targeted)', async () => {
  const at = (b: Buffer, s: string, plus = 0) => b.indexOf(s) + plus;
  const reset = () => Object.assign(stats, { reruns: 0, empty: 0 });

  it('a quoted field with line breaks across a boundary: the wrong guess is re-run', async () => {
    const b = Buffer.from('id,text\n1,"line one\nline two\n2,not a record"\n3,x\n');
    reset();
    const whole = await checkSplits(b, null, [at(b, 'line two')]);
    expect(stats.reruns).toBe(1);
    expect(whole.rows).toEqual([
      { id: 1n, text: 'line one\nline two\n2,not a record' },
      { id: 3n, text: 'x' },
    ]);
  });

  it('CRLF split between its \\r and \\n', async () => {
    const b = Buffer.from('a,b\r\n1,x\r\n2,y\r\n');
    const whole = await checkSplits(b, null, [at(b, '\r\n2', 1)]);
    expect(whole.rows).toHaveLength(2);
  });

  it("a BOM and a header are the file's, not a split's", async () => {
    const b = Buffer.from('\uFEFF"h,1",h2\n1,2\n3,4\n');
    const whole = await checkSplits(b, null, [1, 2, 3, at(b, '1,2'), at(b, '3,4')]);
    expect(whole.rows).toEqual([
      { 'h,1': 1n, h2: 2n },
      { 'h,1': 3n, h2: 4n },
    ]);
  });

  it('a record longer than several splits: the splits inside it are empty', async () => {
    const long = 'z'.repeat(200);
    const b = Buffer.from(`a,b\n1,"${long}\n${long}"\n2,y\n`);
    reset();
    const points = Array.from({ length: 20 }, (_, i) => 10 + i * 20);
    const whole = await checkSplits(b, null, points, [3]);
    expect(stats.empty).toBeGreaterThan(10);
    expect(whole.rows).toHaveLength(2);
  });

  it('empty splits (repeated points) and a file smaller than one split', async () => {
    const b = Buffer.from('a\n1\n2\n');
    await checkSplits(b, null, [3, 3, 3, 5, 5]);
    const whole = await checkSplits(b, null, []);
    expect(whole.rows).toEqual([{ a: 1n }, { a: 2n }]);
  });

  it('a boundary inside a multi-byte UTF-8 character', async () => {
    const b = Buffer.from('s\né🚀\n"🚀\n€"\n');
    for (let p = 2; p < b.length; p++) await checkSplits(b, null, [p]);
    expect((await checkSplits(b, null, [])).rows).toEqual([{ s: 'é🚀' }, { s: '🚀\n€' }]);
  });

  it('an error in a split far from the start names the absolute line', async () => {
    const b = Buffer.from(`n\n${'1\n'.repeat(50)}"2\n3\n`);
    const whole = await checkSplits(b, null, [20, 60, 100, 104]);
    expect(whole.error).toBe(
      'f.csv: line 52: Quote not closed: the field that opens on line 52 never ends'
    );
  });
});
