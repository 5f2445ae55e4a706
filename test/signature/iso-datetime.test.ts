import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { formatPyDatetime, parseIsoDatetime } from '../../src/signature/iso-datetime.js';

describe('ISO datetime text', () => {
  it('reads numpy-style forms as UTC and applies offsets', () => {
    expect(parseIsoDatetime('2023')?.toISOString()).toBe('2023-01-01T00:00:00.000Z');
    expect(parseIsoDatetime('2023-06')?.toISOString()).toBe('2023-06-01T00:00:00.000Z');
    expect(parseIsoDatetime('2023-06-26T01:02:03.456789')?.toISOString()).toBe(
      '2023-06-26T01:02:03.456Z'
    );
    expect(parseIsoDatetime('2023-06-26T01:00:00+02:00')?.toISOString()).toBe(
      '2023-06-25T23:00:00.000Z'
    );
    expect(parseIsoDatetime('2023-02-30')).toBeNull();
    expect(parseIsoDatetime('yesterday')).toBeNull();
  });

  it('writes Python isoformat (microseconds only when non-zero)', () => {
    expect(formatPyDatetime(new Date('2023-06-26T00:00:00Z'))).toBe('2023-06-26T00:00:00');
    expect(formatPyDatetime(new Date('2023-06-26T00:00:00.25Z'))).toBe(
      '2023-06-26T00:00:00.250000'
    );
  });

  it('datetime text round trips through formatPyDatetime', () => {
    const dates = fc.date({
      min: new Date('1900-01-01T00:00:00Z'),
      max: new Date('2200-01-01T00:00:00Z'),
      noInvalidDate: true,
    });
    fc.assert(
      fc.property(dates, (d) => {
        expect(parseIsoDatetime(formatPyDatetime(d))?.getTime()).toBe(d.getTime());
      })
    );
  });
});
