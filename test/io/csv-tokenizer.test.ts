import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, CsvTokenizer, type CsvRecord } from '../../src/io/csv-tokenizer.js';

function tokenize(chunks: string[]): CsvRecord[] {
  const t = new CsvTokenizer();
  const out: CsvRecord[] = [];
  for (const c of chunks) out.push(...t.push(c));
  out.push(...t.end());
  return out;
}

const text = '\uFEFFa,"b ""q""",c\r\n1,,"x\ny"\n\n"",2,\r3,"é🚀",z';

describe('CsvTokenizer', () => {
  it('parses quotes, escaped quotes, CRLF/CR/LF, empty vs quoted-empty, multi-line fields', () => {
    const recs = tokenize([text]);
    expect(recs.map((r) => r.fields)).toEqual([
      ['a', 'b "q"', 'c'],
      ['1', null, 'x\ny'],
      ['', '2', null],
      ['3', 'é🚀', 'z'],
    ]);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 5, 6]);
    expect(recs[2]?.quoted).toEqual([true, false, false]);
  });

  it('gives the same records however the text is split into chunks', () => {
    const whole = tokenize([text]);
    for (let cut = 0; cut <= text.length; cut++) {
      expect(tokenize([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    }
  });

  it('reports an unclosed quote and text after a closing quote with line numbers', () => {
    expect(() => tokenize(['a\n"open\n'])).toThrow(CsvSyntaxError);
    try {
      tokenize(['a,b\n1,"x"y\n']);
    } catch (e) {
      expect((e as CsvSyntaxError).line).toBe(2);
    }
    expect.assertions(2);
  });
});
