/**
 * The byte fast paths of the CSV reader answer exactly as the string rules of text-columns.ts
 * (or decline, and the string rules decide).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  T_BOOL,
  T_DATE,
  T_FLOAT,
  T_INT,
  classifyAscii,
  parseBoolBytes,
  parseDatetimeBytes,
  parseFloatBytes,
  parseFloatText,
  parseIntBytes,
} from '../../src/io/csv-values.js';
import { convertText, inferTextType } from '../../src/io/text-columns.js';
import { parseIsoDatetime } from '../../src/signature/iso-datetime.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');

/** The per-cell flags `inferTextType` gives one cell (its tests are independent per cell). */
function expectedMask(t: string): number {
  switch (inferTextType([t], false).type) {
    case 'long':
      return T_INT | T_FLOAT;
    case 'double':
      return T_FLOAT;
    case 'boolean':
      return T_BOOL;
    case 'datetime':
      return T_DATE;
    default:
      return 0;
  }
}

/** ASCII text made of the characters the number and date grammars care about. */
const numberish = fc.string({
  unit: fc.constantFrom(...'0123456789+-.eE:TZ aflnrstuiINFy'.split('')),
  maxLength: 30,
});
const dateish = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 61 }),
    fc.integer({ min: 0, max: 61 }),
    fc.constantFrom('', '.', '.5', '.12', '.123', '.1234567891', ',5', '.123456789'),
    fc.constantFrom('', 'Z', 'z', '+05:30', '-0800', '+01', '+1', '-12:3', '+99:99'),
    fc.constantFrom('T', ' ', 't', '_'),
    fc.nat(4)
  )
  .map(([y, mo, d, h, mi, s, frac, zone, sep, shape]) => {
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const date = `${p(y, 4)}-${p(mo)}-${p(d)}`;
    if (shape === 0) return date;
    if (shape === 1) return `${date}${sep}${p(h)}`;
    if (shape === 2) return `${date}${sep}${p(h)}:${p(mi)}${zone}`;
    return `${date}${sep}${p(h)}:${p(mi)}:${p(s)}${frac}${zone}`;
  });

describe('classifyAscii = inferTextType, per cell', () => {
  it('on number-like, date-like and word-like text', () => {
    const cells = fc.oneof(
      numberish,
      dateish,
      fc.double().map(String),
      fc.bigInt().map(String),
      fc.constantFrom('nan', '-NaN', '+Infinity', '+nan', 'INF', 'TRUE', 'fAlSe', '007', '-0')
    );
    fc.assert(
      fc.property(cells, (raw) => {
        const t = raw.trim();
        if (t === '') return;
        expect(classifyAscii(bytes(t), 0, t.length), t).toBe(expectedMask(t));
      }),
      { numRuns: 5000 }
    );
  });
});

describe('the number fast paths are exact or decline', () => {
  it('parseFloatBytes equals Number(text) whenever it answers', () => {
    const texts = fc.oneof(
      numberish,
      fc.double().map(String),
      fc.double().map((x) => x.toPrecision(15)),
      fc.double({ min: -1e9, max: 1e9, noNaN: true }).map((x) => x.toFixed(6)),
      fc.tuple(fc.integer(), fc.integer({ min: -30, max: 30 })).map(([m, e]) => `${m}e${e}`)
    );
    fc.assert(
      fc.property(texts, (t) => {
        if (t === '') return;
        const v = parseFloatBytes(bytes(t), 0, t.length);
        if (Number.isNaN(v)) return;
        expect(Object.is(v, convertText(t, { type: 'double' })), t).toBe(true);
      }),
      { numRuns: 5000 }
    );
  });

  it('parseFloatText (long mantissas, big exponents) equals convertText whenever it answers', () => {
    const texts = fc.oneof(
      numberish,
      fc.double().map(String),
      fc.double().map((x) => x.toPrecision(17)),
      fc.constantFrom('0.30000000000000004', '1e400', '-1e-400', '123456789012345678901234')
    );
    fc.assert(
      fc.property(texts, (t) => {
        if (t === '') return;
        const v = parseFloatText(Buffer.from(t, 'latin1'), 0, t.length);
        if (Number.isNaN(v)) return;
        expect(Object.is(v, convertText(t, { type: 'double' })), t).toBe(true);
      }),
      { numRuns: 5000 }
    );
    expect(parseFloatText(bytes('50.160000000000004'), 0, 18)).toBe(50.160000000000004);
    expect(parseFloatText(bytes('NaN'), 0, 3)).toBeNaN(); // words: the string path's
  });

  it('parseFloatBytes answers the common shapes itself', () => {
    for (const t of ['0', '-0.0', '1.5', '.5', '1.', '+.25', '-12.345', '1e5', '2.5E-3', '33'])
      expect(Object.is(parseFloatBytes(bytes(t), 0, t.length), Number(t)), t).toBe(true);
    for (const t of ['NaN', 'inf', '1e400', '0.1000000000000000055511151231257827', '1_0', 'e5'])
      expect(parseFloatBytes(bytes(t), 0, t.length), t).toBeNaN();
  });

  it('parseIntBytes equals the BigInt reading whenever it answers', () => {
    fc.assert(
      fc.property(fc.oneof(numberish, fc.bigInt().map(String)), (t) => {
        if (t === '') return;
        const v = parseIntBytes(bytes(t), 0, t.length);
        if (Number.isNaN(v)) return;
        expect(/^[+-]?\d+$/.test(t), t).toBe(true);
        expect(v).toBe(Number(BigInt(t)));
      }),
      { numRuns: 3000 }
    );
    expect(parseIntBytes(bytes('-000000000000000000042'), 0, 22)).toBe(-42);
    expect(parseIntBytes(bytes('1234567890123456'), 0, 16)).toBeNaN(); // 16 digits: BigInt path
  });

  it('parseBoolBytes accepts what convertText accepts', () => {
    for (const t of [
      'true',
      'TRUE',
      'True',
      'false',
      'FaLsE',
      '1',
      '0',
      'yes',
      't',
      '2',
      'truee',
    ]) {
      const v = parseBoolBytes(bytes(t), 0, t.length);
      let expected: number;
      try {
        expected = convertText(t, { type: 'boolean' }) === true ? 1 : 0;
      } catch {
        expected = -1;
      }
      expect(v, t).toBe(expected);
    }
  });
});

describe('parseDatetimeBytes = parseIsoDatetime, or declines', () => {
  it('on random date-like text (impossible dates and odd shapes included)', () => {
    let answered = 0;
    fc.assert(
      fc.property(dateish, (t) => {
        const v = parseDatetimeBytes(bytes(t), 0, t.length);
        const d = parseIsoDatetime(t);
        if (Number.isNaN(v)) {
          // Declining is allowed; answering differently is not.
          return;
        }
        answered++;
        expect(d, t).not.toBeNull();
        expect(v, t).toBe(d!.getTime());
      }),
      { numRuns: 5000 }
    );
    expect(answered).toBeGreaterThan(500);
  });

  it('answers the common shapes itself', () => {
    for (const t of [
      '2001-01-01',
      '2001-01-01 00:01',
      '2001-01-01 00:01:00',
      '2024-02-29T23:59:59.999',
      '1969-12-31T23:59:59.5Z',
      '0000-03-01T00:00:00+05:30',
      '2023-06-26T12:30:00.123456789-0800',
      '2023-06-26T12:30:00+01',
    ]) {
      expect(parseDatetimeBytes(bytes(t), 0, t.length), t).toBe(parseIsoDatetime(t)!.getTime());
    }
    for (const t of ['2023-02-29 00:00', '2023-13-01', '2023-06-26T24:00', '+2023-06-26', '2023'])
      expect(parseDatetimeBytes(bytes(t), 0, t.length), t).toBeNaN();
  });
});
