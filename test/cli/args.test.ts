import { describe, expect, it } from 'vitest';
import {
  UsageError,
  keyValueList,
  optionalInt,
  optionalJsonObject,
  optionalList,
  parseCommandArgs,
} from '../../src/cli/args.js';

describe('args', () => {
  it('parseCommandArgs is strict and keeps only the first sentence of parseArgs messages', () => {
    expect(
      parseCommandArgs('x', ['--a', '1', '-v'], { a: { type: 'string' } }).values
    ).toMatchObject({ a: '1', verbose: true });
    try {
      parseCommandArgs('x', ['--b'], { a: { type: 'string' } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).message).toBe("Unknown option '--b'");
      expect((e as UsageError).command).toBe('x');
    }
  });

  it('optionalInt accepts integers >= min only', () => {
    expect(optionalInt({ n: '12' }, 'n')).toBe(12);
    expect(optionalInt({}, 'n')).toBeUndefined();
    expect(optionalInt({ n: '0' }, 'n', 0)).toBe(0);
    for (const bad of ['0', '-1', '1.5', '2x', '', '1e3']) {
      expect(() => optionalInt({ n: bad }, 'n')).toThrow(
        `--n must be an integer >= 1, found ${JSON.stringify(bad)}`
      );
    }
    expect(() => optionalInt({ n: '-1' }, 'n', 0)).toThrow('--n must be a non-negative integer');
  });

  it('optionalJsonObject wants a JSON object', () => {
    expect(optionalJsonObject({ p: '{"a": [1]}' }, 'p')).toEqual({ a: [1] });
    expect(() => optionalJsonObject({ p: '{a:1}' }, 'p')).toThrow(
      /^--p must be a JSON object, found invalid JSON "\{a:1\}"/
    );
    expect(() => optionalJsonObject({ p: 'null' }, 'p')).toThrow(
      '--p must be a JSON object, found "null"'
    );
  });

  it('optionalList and keyValueList', () => {
    expect(optionalList({ c: ' a, b ' }, 'c')).toEqual(['a', 'b']);
    expect(() => optionalList({ c: 'a,,b' }, 'c')).toThrow(
      '--c must be a comma-separated list of names'
    );
    expect(keyValueList({ a: ['w=x=1', 'v=/p'] }, 'a')).toEqual({ w: 'x=1', v: '/p' });
    expect(keyValueList({}, 'a')).toEqual({});
    expect(() => keyValueList({ a: ['w=1', 'w=2'] }, 'a')).toThrow(
      "names must be unique ('w' is given twice)"
    );
    expect(() => keyValueList({ a: ['=1'] }, 'a')).toThrow('--a must be name=value');
  });
});
