import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Table, Utf8, type Vector, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import SentimentModel from './model.js';

const lexiconPath = fileURLToPath(new URL('./lexicon.json', import.meta.url));

function load(modelConfig: Record<string, unknown> = { loadLogPath: '' }) {
  const model = new SentimentModel();
  const context = { artifacts: { lexicon: lexiconPath }, modelConfig };
  model.loadContext(context);
  return { model, context };
}

function texts(values: (string | null)[], langs?: (string | null)[]): Table {
  const cols: Record<string, Vector<Utf8>> = {
    text: vectorFromArray(values, new Utf8()),
  };
  if (langs) cols['lang'] = vectorFromArray(langs, new Utf8());
  return new Table(cols);
}

const logistic = (s: number) => 1 / (1 + Math.exp(-s));

describe('udf/sentiment', () => {
  it('labels hand-labelled English sentences', () => {
    const labelled: [string, string][] = [
      ['I love this product, it is great', 'positive'],
      ['This was the worst movie: boring and awful.', 'negative'],
      ['The package arrived on Tuesday', 'neutral'],
      ['This is not good at all', 'negative'],
      ['Honestly, I never hated it', 'positive'],
      ['Terrible battery, but a wonderful, amazing screen', 'positive'],
    ];
    const { model, context } = load();
    const out = model.predict(context, texts(labelled.map(([t]) => t)), {});
    expect(out.map((r) => r.label)).toEqual(labelled.map(([, label]) => label));
  });

  it('scores the logistic of (#positive - #negative) words', () => {
    const { model, context } = load();
    const out = model.predict(context, texts(['great great bad', 'bad', 'nothing here']), {});
    expect(out[0]!.score).toBeCloseTo(logistic(2 - 1), 12);
    expect(out[1]!.score).toBeCloseTo(logistic(-1), 12);
    expect(out[2]).toEqual({ label: 'neutral', score: 0.5 });
  });

  it('applies the threshold param', () => {
    const { model, context } = load();
    const table = texts(['good good bad']); // score = logistic(1) ~ 0.73
    expect(model.predict(context, table, { threshold: 0.5 })[0]!.label).toBe('positive');
    expect(model.predict(context, table, { threshold: 0.8 })[0]!.label).toBe('negative');
    expect(model.predict(context, table, {})[0]!.label).toBe('positive');
    expect(() => model.predict(context, table, { threshold: '0.5' })).toThrow(/"threshold"/);
  });

  it('matches case-sensitively when lowercase is false', () => {
    const { model, context } = load();
    const table = texts(['GREAT Product']);
    expect(model.predict(context, table, { lowercase: true })[0]!.label).toBe('positive');
    expect(model.predict(context, table, { lowercase: false })[0]!.label).toBe('neutral');
  });

  it('uses the optional lang column, defaulting to English', () => {
    const { model, context } = load();
    const sentences = ['Me encanta, es excelente', 'No me gusta, es malo', 'no me gusta'];
    const es = model.predict(context, texts(sentences, ['es', 'es-MX', 'es']), {});
    expect(es.map((r) => r.label)).toEqual(['positive', 'negative', 'negative']);
    // Without lang (null, unknown, or no column) the English lexicon knows none of the words.
    const fallback = model.predict(context, texts(sentences, [null, 'xx', null]), {});
    expect(fallback.map((r) => r.label)).toEqual(['neutral', 'neutral', 'neutral']);
    expect(model.predict(context, texts(sentences), {}).map((r) => r.label)).toEqual(
      fallback.map((r) => r.label)
    );
  });

  it('handles null text and multi-chunk columns', () => {
    const { model, context } = load();
    const table = texts(['good', null]).concat(texts(['bad']));
    expect(table.batches.length).toBe(2);
    const out = model.predict(context, table, {});
    expect(out.map((r) => r.label)).toEqual(['positive', 'neutral', 'negative']);
  });

  it('fails clearly on a missing text column or missing artifact', () => {
    const { model, context } = load();
    const table = tableFromArrays({ body: ['good'] });
    expect(() => model.predict(context, table, {})).toThrow(/column "text" is missing/);
    expect(() => new SentimentModel().loadContext({ artifacts: {}, modelConfig: {} })).toThrow(
      /"lexicon"/
    );
  });

  it('appends one load-log line per loadContext', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jsfunc-sentiment-'));
    try {
      const log = join(dir, 'loads.log');
      load({ loadLogPath: log });
      expect(readFileSync(log, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+ \\d+\\n$`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
