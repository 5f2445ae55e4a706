import { describe, expect, it } from 'vitest';
import {
  Progress,
  formatCount,
  formatDuration,
  formatProgressLine,
} from '../../src/cli/progress.js';

describe('progress formatting', () => {
  it('formats counts and durations', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1234567.4)).toBe('1,234,567');
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });

  it('draws a bar with percentage, rate and ETA when the total is known', () => {
    const line = formatProgressLine(250_000, 1000, { rows: 1_000_000, exact: true }, 80);
    const m = /^\[(#*)(-*)\]  25% 250,000\/1,000,000 rows  250,000 rows\/s  ETA 3s$/.exec(line);
    expect(m, line).not.toBeNull();
    const [filled, empty] = [m![1]!.length, m![2]!.length];
    expect(filled + empty).toBeGreaterThanOrEqual(10);
    expect(Math.abs(filled / (filled + empty) - 0.25)).toBeLessThanOrEqual(0.5 / (filled + empty));
    expect(line.length).toBeLessThanOrEqual(80);
    expect(formatProgressLine(500, 1000, { rows: 1000, exact: false }, 200)).toContain(
      ' 50% 500/~1,000 rows'
    );
    // An underestimate never shows more than 100%.
    expect(formatProgressLine(1500, 1000, { rows: 1000, exact: false }, 200)).toContain(
      '100% 1,500/~1,500 rows'
    );
    expect(formatProgressLine(10, 2000, null)).toBe('10 rows  5 rows/s  2s');
    expect(
      formatProgressLine(250_000, 1000, { rows: 1_000_000, exact: true }, 40).length
    ).toBeLessThanOrEqual(40);
  });

  it('redraws in place on a TTY at most once per interval and clears at the end', () => {
    let t = 0;
    let out = '';
    const p = new Progress(
      { write: (s: string) => (out += s) },
      { tty: true, now: () => t, intervalMs: 100, total: { rows: 100, exact: true } }
    );
    t = 10;
    p.update(10);
    t = 50;
    p.update(20); // within the interval: not drawn
    t = 200;
    p.update(60);
    p.finish();
    const frames = out.split('\r').filter((s) => s !== '');
    expect(frames).toHaveLength(3);
    expect(frames[0]).toContain(' 10% 10/100 rows');
    expect(frames[1]).toContain(' 60% 60/100 rows');
    expect(frames[2]).toBe('\x1b[K');
  });

  it('writes nothing when not a TTY', () => {
    let out = '';
    const p = new Progress({ write: (s: string) => (out += s) }, { tty: false });
    p.update(5);
    p.finish();
    expect(out).toBe('');
    expect(p.rows).toBe(5);
  });
});
