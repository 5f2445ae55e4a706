/**
 * A lexicon sentiment model over text: input `text: string` plus an optional `lang: string`
 * column, output two fields per row, `label: string` and `score: double`.
 *
 * - Artifact `lexicon`: `lexicon.json` with, per language, `positive`, `negative` and
 *   `negators` word lists, plus `defaultLang` and `negationWindow`.
 * - Scoring: each lexicon word adds +1 (positive) or -1 (negative); a negator flips the sign
 *   of the next lexicon word if it comes within `negationWindow` tokens. `score` is the
 *   logistic of the sum, so text without lexicon words scores 0.5.
 * - `label`: `"neutral"` when no lexicon word occurs, else `"positive"` when
 *   `score >= threshold`, else `"negative"`.
 * - Params: `threshold` (double, default 0.5) and `lowercase` (boolean, default true; when
 *   false matching is case-sensitive against the lower-case lexicon).
 * - `lang`: rows whose language is null, absent or unknown use `defaultLang`; a region suffix
 *   is ignored (`es-MX` -> `es`).
 * - Config: `loadLogPath` (default "") appends one line per `loadContext`.
 *
 * Words are looked up in one `Map` per language built at load time, so a row costs one
 * tokenizing regex pass and one map lookup per token.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Table } from 'apache-arrow';
import type { JsModel, ModelContext } from '../../src/package/types.js';
import type { Params } from '../../src/signature/types.js';
import { readStrings } from '../shared/columns.js';
import { appendLoadLog } from '../shared/load-log.js';

/** One output row. */
export interface SentimentRow {
  label: 'positive' | 'negative' | 'neutral';
  score: number;
}

/** Word -> +1 (positive), -1 (negative) or 0 (negator). */
type WordTable = Map<string, number>;

interface Lexicon {
  defaultLang: string;
  negationWindow: number;
  languages: Map<string, WordTable>;
}

const TOKEN = /[\p{L}\p{N}']+/gu;
const NEGATOR = 0;

/**
 * Parses and checks a `lexicon.json` text into lookup tables.
 *
 * @param text - the file content
 * @param file - file path, for messages
 * @returns word tables per language
 * @throws {Error} when the JSON is malformed or `defaultLang` has no word lists
 */
function parseLexicon(text: string, file: string): Lexicon {
  const raw = JSON.parse(text) as {
    defaultLang?: unknown;
    negationWindow?: unknown;
    languages?: Record<string, Record<string, unknown>>;
  };
  const languages = new Map<string, WordTable>();
  for (const [lang, lists] of Object.entries(raw.languages ?? {})) {
    const table: WordTable = new Map();
    for (const [key, polarity] of [
      ['positive', 1],
      ['negative', -1],
      ['negators', NEGATOR],
    ] as const) {
      const words = lists[key];
      if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) {
        throw new Error(`${file}: languages.${lang}.${key} must be an array of strings`);
      }
      for (const w of words) table.set(w, polarity);
    }
    languages.set(lang, table);
  }
  const defaultLang = raw.defaultLang;
  if (typeof defaultLang !== 'string' || !languages.has(defaultLang)) {
    throw new Error(`${file}: defaultLang ${JSON.stringify(defaultLang)} has no word lists`);
  }
  const window = raw.negationWindow ?? 3;
  if (typeof window !== 'number' || !Number.isInteger(window) || window < 1) {
    throw new Error(`${file}: negationWindow must be a positive integer`);
  }
  return { defaultLang, negationWindow: window, languages };
}

/** The sentiment example model. */
export default class SentimentModel implements JsModel {
  private lexicon: Lexicon | null = null;

  /** Reads the `lexicon` artifact and records the load. */
  loadContext(context: ModelContext): void {
    const file = context.artifacts['lexicon'];
    if (file === undefined) throw new Error('Artifact "lexicon" is missing from the context');
    this.lexicon = parseLexicon(readFileSync(file, 'utf8'), file);
    appendLoadLog(context.modelConfig);
  }

  /** One `{ label, score }` per row. */
  predict(_context: ModelContext, input: Table, params: Params = {}): SentimentRow[] {
    const lexicon = this.lexicon;
    if (lexicon === null) throw new Error('SentimentModel.predict called before loadContext');
    const threshold = params['threshold'] ?? 0.5;
    const lowercase = params['lowercase'] ?? true;
    if (typeof threshold !== 'number') {
      throw new Error(`param "threshold" must be a number; found ${typeof threshold}`);
    }
    if (typeof lowercase !== 'boolean') {
      throw new Error(`param "lowercase" must be a boolean; found ${typeof lowercase}`);
    }
    const texts = readStrings(input, 'text');
    const langs = readStrings(input, 'lang', true);
    const fallback = lexicon.languages.get(lexicon.defaultLang)!;
    const out = new Array<SentimentRow>(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const words = langs === null ? fallback : this.wordsFor(langs[i] ?? null, fallback);
      const raw = texts[i] ?? '';
      const { sum, hits } = scoreText(lowercase ? raw.toLowerCase() : raw, words, lexicon);
      const score = 1 / (1 + Math.exp(-sum));
      out[i] = {
        label: hits === 0 ? 'neutral' : score >= threshold ? 'positive' : 'negative',
        score,
      };
    }
    return out;
  }

  private wordsFor(lang: string | null, fallback: WordTable): WordTable {
    if (lang === null) return fallback;
    const languages = this.lexicon!.languages;
    const exact = languages.get(lang.toLowerCase());
    if (exact !== undefined) return exact;
    const base = lang.split(/[-_]/, 1)[0]!.toLowerCase();
    return languages.get(base) ?? fallback;
  }
}

/** Sums word polarities with negation; `hits` counts lexicon (non-negator) words. */
function scoreText(
  text: string,
  words: WordTable,
  lexicon: Lexicon
): { sum: number; hits: number } {
  let sum = 0;
  let hits = 0;
  // Tokens left during which a seen negator still flips the next lexicon word.
  let negation = 0;
  for (const match of text.matchAll(TOKEN)) {
    const polarity = words.get(match[0]);
    if (polarity === NEGATOR) {
      negation = lexicon.negationWindow;
      continue;
    }
    if (polarity !== undefined) {
      sum += negation > 0 ? -polarity : polarity;
      hits++;
      negation = 0;
    } else if (negation > 0) {
      negation--;
    }
  }
  return { sum, hits };
}
