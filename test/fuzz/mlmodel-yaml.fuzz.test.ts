/**
 * Fuzzing `parseMLmodel` (and what is done with its result: writing it back, printing it as
 * JSON) with random edits of real MLmodel files, MLflow's and jsfunc's: every outcome is a
 * value or a coded ModelError, quickly.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseMLmodel, serializeMLmodel } from '../../src/package/mlmodel.js';
import type { ModelMetadata } from '../../src/package/types.js';
import { MLFLOW_MODELS } from '../fixtures/package/paths.js';
import { budget, holds, mutate, mutations, valueOrCoded } from './fuzz-helpers.js';

/** A jsfunc-written MLmodel: js_function flavor, typed signature with nested types, example info. */
function ownMLmodel(): string {
  const meta: ModelMetadata = {
    flavors: {
      js_function: {
        loader_module: 'jsfunc',
        code: 'code',
        entry: 'code/model.cjs',
        export_name: 'default',
        predict_fn: 'predict',
        config: { scale: 2, label: 'on', nested: { a: [1, 2, { b: null }] } },
        artifacts: { weights: { path: 'artifacts/weights/w.json', uri: '/src/w.json' } },
        node_version: '20.20.2',
        env: { node: 'js_env.json' },
      },
    },
    modelUuid: '0123456789abcdef0123456789abcdef',
    utcTimeCreated: '2024-05-17 23:15:28.764394',
    mlflowVersion: null,
    signature: {
      inputs: [
        { kind: 'column', name: 'x', type: { type: 'double' }, required: true },
        {
          kind: 'column',
          name: 'tags',
          type: { type: 'array', items: { type: 'string' } },
          required: false,
        },
        {
          kind: 'column',
          name: 'obj',
          type: {
            type: 'object',
            properties: [
              { name: 'a', type: { type: 'long' }, required: true },
              { name: 'm', type: { type: 'map', values: { type: 'double' } }, required: false },
            ],
          },
          required: true,
        },
      ],
      outputs: [{ kind: 'tensor', dtype: 'float64', shape: [-1, 2] }],
      params: [
        { name: 'k', type: { type: 'long' }, default: 3, shape: null },
        { name: 'when', type: { type: 'datetime' }, default: new Date(0), shape: null },
        { name: 'xs', type: { type: 'double' }, default: [1.5, 2], shape: [-1] },
      ],
    },
    savedInputExampleInfo: {
      artifact_path: 'input_example.json',
      type: 'dataframe',
      pandas_orient: 'split',
      serving_input_path: 'serving_input_example.json',
    },
    modelSizeBytes: 12345,
    metadata: { team: 'risk', yes: 'yes', date: '2024-01-01' },
    raw: { jsfunc_version: '0.1.0' },
  };
  return serializeMLmodel(meta);
}

const SEEDS: string[] = [
  ...readdirSync(MLFLOW_MODELS)
    .sort()
    .map((name) => readFileSync(join(MLFLOW_MODELS, name, 'MLmodel'), 'utf8')),
  ownMLmodel(),
];

const YAML_TOKENS = [
  ': ',
  ':',
  '- ',
  '\n',
  '\n  ',
  '    ',
  '\t',
  '#',
  '&a ',
  '*a',
  '&b [1, *a]',
  '&c [1, *c]',
  '? [k, v]\n: 1\n',
  '<<: *a\n',
  '? ',
  '{',
  '}',
  '[',
  ']',
  ',',
  "'",
  '"',
  '\\',
  '|\n',
  '>-\n',
  '---\n',
  '...\n',
  '%YAML 1.1\n',
  '!!omap\n- a: 1\n- a: 2\n',
  '!!set\n? a\n',
  '!!binary AAAA',
  '!!python/object:x {}',
  '!!int "x"',
  '!!float',
  '!custom ',
  '~',
  'null',
  'yes',
  'on',
  '.nan',
  '-.inf',
  '1e309',
  '0x1F',
  '0b101',
  '1:20:30',
  '2024-01-01 00:00:00',
  'flavors:\n',
  'flavors: {js_function: {}}\n',
  'signature:\n  inputs: ',
  '\'[{"type": "double", "name": "x"}]\'',
  '\'[{"type": "array", "items": {"type": "nope"}}]\'',
  'params: \'[{"name": "k", "type": "long", "default": "x", "shape": null}]\'\n',
  'saved_input_example_info: {artifact_path: ../x}\n',
  'model_size_bytes: -1e999\n',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
  '{a: {a: {a: {a: {a: {a: {a: {a: {a: {a:',
  '\u0000',
  '\ufeff',
  '\u2028',
  '😀',
];

describe('fuzz: MLmodel YAML', () => {
  it('parseMLmodel on edited real MLmodel files: a value or a coded ModelError', () => {
    holds(
      fc.property(fc.constantFrom(...SEEDS), mutations(YAML_TOKENS), (seed, edits) => {
        const text = mutate(seed, edits);
        const meta = valueOrCoded(() => parseMLmodel(text, '/fuzz/MLmodel'), text);
        if (meta === undefined) return;
        // What a reader does next: print it as JSON (`info --json`) and write it back.
        valueOrCoded(
          () => JSON.stringify(meta, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
          text
        );
        const again = valueOrCoded(() => serializeMLmodel(meta), text);
        if (again !== undefined) valueOrCoded(() => parseMLmodel(again, '/fuzz/rewritten'), again);
      }),
      budget(200)
    );
  });

  // 30,000 levels is far past any stack (the yaml composer overflows near 800) while the text
  // stays small enough to parse within the per-case limit: parsing is linear, ~7 µs per level.
  it('parseMLmodel on documents nested up to 30,000 levels, at any place', () => {
    holds(
      fc.property(
        fc.constantFrom(...SEEDS),
        fc.nat(),
        fc.integer({ min: 1, max: 30_000 }),
        fc.constantFrom(['[', ']'], ['{a: ', '}'], ['- ', '']),
        (seed, at, depth, [open, close]) => {
          const i = at % (seed.length + 1);
          const text = `${seed.slice(0, i)}${open.repeat(depth)}x${close.repeat(depth)}${seed.slice(i)}`;
          valueOrCoded(() => parseMLmodel(text, '/fuzz/MLmodel'), text);
        }
      ),
      budget(30)
    );
  });

  it('parseMLmodel on YAML-shaped noise: a value or a coded ModelError', () => {
    const line = fc
      .tuple(fc.nat(6), fc.array(fc.constantFrom(...YAML_TOKENS, 'k', 'v', '1'), { maxLength: 6 }))
      .map(([indent, parts]) => ' '.repeat(indent) + parts.join(''));
    holds(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const text = `flavors: {x: {}}\n${lines.join('\n')}\n`;
        valueOrCoded(() => parseMLmodel(text, '/fuzz/MLmodel'), text);
      }),
      budget(400)
    );
  });
});
