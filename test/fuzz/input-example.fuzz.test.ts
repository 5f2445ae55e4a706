/**
 * Fuzzing input examples both ways: what `saveModel` converts (any JS value to pandas' split
 * orient) and what `jsfunc info` reads and prints (an edited `input_example.json`, `js_env.json`
 * and MLmodel in a real package). Every outcome is a value or a coded ModelError, quickly, and
 * what `getModelInfo` returns can always be printed, as text and as JSON.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { formatInfo } from '../../src/cli/format-info.js';
import { toSplitFrame } from '../../src/package/input-example.js';
import { getModelInfo, type ModelInfo } from '../../src/package/model-info.js';
import { saveModel } from '../../src/package/save-model.js';
import { THROWS_ON_IMPORT, tempDirs } from '../fixtures/package/paths.js';
import {
  budget,
  holds,
  holdsAsync,
  mutate,
  mutations,
  valueOrCoded,
  valueOrCodedAsync,
} from './fuzz-helpers.js';

const tmp = tempDirs();
let base = '';
let scratch = '';
let mlmodelText = '';

beforeAll(async () => {
  base = join(tmp.make(), 'base');
  await saveModel(base, {
    model: THROWS_ON_IMPORT,
    inputExample: [
      { x: 1, s: 'a', l: [1, 2], o: { k: null } },
      { x: 2.5, s: 'b', l: [], o: { k: 'v' } },
    ],
    signature: {
      inputs: '[{"type": "double", "name": "x", "required": true}]',
      params: '[{"name": "k", "default": 3, "shape": null, "type": "long"}]',
    },
    metadata: { team: 'risk' },
  });
  scratch = join(tmp.make(), 'scratch');
  cpSync(base, scratch, { recursive: true });
  mlmodelText = readFileSync(join(base, 'MLmodel'), 'utf8');
});
afterAll(() => tmp.cleanup());

const EXAMPLE_SEEDS = [
  '{"columns": ["x", "s"], "data": [[1, "a"], [2, null]]}',
  '{"messages": [{"role": "user", "content": "What is RAG?"}]}',
  '[[1, 2], [3, 4]]',
  '{"dataframe_split": {"columns": ["x"], "data": [[1]]}}',
];
const ENV_SEED =
  '{"node_version": "20.20.2", "jsfunc_version": "0.1.0", "external": {"apache-arrow": "21.2.0"}, "bundled": {}}';
const JSON_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  'null',
  '1e309',
  '"columns": 5',
  '"data": [[',
  '[[[[[[[[[[[[[[[[',
  '\\ud800',
];
const YAML_TOKENS = [
  ': ',
  '- ',
  '\n',
  '  ',
  '&a ',
  '*a',
  '[',
  '{',
  '"',
  "'",
  'artifact_path: ../x',
  'artifact_path: /etc/passwd',
  'type: 5',
];

/** What `jsfunc info` does with the summary: print it as text, or as JSON (`--json`). */
function printable(info: ModelInfo, input: unknown): void {
  valueOrCoded(() => formatInfo(info), input);
  valueOrCoded(
    () => JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v), 2),
    input
  );
}

describe('fuzz: input examples', () => {
  it('toSplitFrame (saveModel inputExample) with any value', () => {
    holds(
      fc.property(
        fc.anything({
          maxDepth: 5,
          withTypedArray: true,
          withMap: true,
          withDate: true,
          withBigInt: true,
        }),
        (value) => {
          const split = valueOrCoded(() => toSplitFrame(value), value);
          if (split) valueOrCoded(() => JSON.stringify(split), value);
        }
      ),
      budget(400)
    );
  });

  it('getModelInfo + formatInfo on a package with edited example, env and MLmodel', async () => {
    await holdsAsync(
      fc.asyncProperty(
        fc.constantFrom(...EXAMPLE_SEEDS),
        mutations(JSON_TOKENS),
        mutations(JSON_TOKENS),
        fc.option(mutations(YAML_TOKENS), { nil: undefined }),
        async (example, exampleEdits, envEdits, mlmodelEdits) => {
          const files = {
            example: mutate(example, exampleEdits),
            env: mutate(ENV_SEED, envEdits),
            mlmodel: mlmodelEdits === undefined ? mlmodelText : mutate(mlmodelText, mlmodelEdits),
          };
          writeFileSync(join(scratch, 'input_example.json'), files.example);
          writeFileSync(join(scratch, 'js_env.json'), files.env);
          writeFileSync(join(scratch, 'MLmodel'), files.mlmodel);
          const info = await valueOrCodedAsync(() => getModelInfo(scratch), files);
          if (info === undefined) return;
          printable(info, files);
        }
      ),
      budget(150)
    );
  });

  it('info on an input example or js_env.json nested up to 200,000 levels', async () => {
    await holdsAsync(
      fc.asyncProperty(
        fc.constantFrom('input_example.json', 'js_env.json'),
        fc.integer({ min: 1, max: 200_000 }),
        fc.constantFrom(['[', ']'], ['{"a": ', '}']),
        async (file, depth, [open, close]) => {
          cpSync(base, scratch, { recursive: true });
          const text =
            file === 'js_env.json'
              ? `{"node_version": "20", "external": {"a": ${open.repeat(depth)}1${close.repeat(depth)}}}`
              : `{"columns": ["x"], "data": [[${open.repeat(depth)}1${close.repeat(depth)}]]}`;
          writeFileSync(join(scratch, file), text);
          const info = await valueOrCodedAsync(() => getModelInfo(scratch), { file, depth });
          if (info !== undefined) printable(info, { file, depth });
        }
      ),
      budget(20, 4000)
    );
  });
});
