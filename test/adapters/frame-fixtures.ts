/**
 * Model packages for the dataframe adapter tests (arquero, Polars, DuckDB), written by hand as
 * `test/fixtures/udf/make-fixtures.mjs` does (no bundler): `linear` scores `a * 2 + b` with a
 * SYNCHRONOUS predict (inputs `a` double, `b` long; output double; a null input gives NaN) and
 * throws on `a === -999` (to test errors); with `async: true` the same model's predict is async.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const source = (isAsync: boolean) => `
export default class Linear {
  ${isAsync ? 'async ' : ''}predict(context, input) {
    const a = input.getChild('a');
    const b = input.getChild('b');
    const out = new Float64Array(input.numRows);
    for (let i = 0; i < out.length; i++) {
      const x = a.get(i);
      const y = b.get(i);
      if (x === -999) throw new RangeError('linear model refuses a = -999');
      out[i] = x === null || y === null ? NaN : x * 2 + Number(y);
    }
    return out;
  }
}
`;

const json = (v: unknown) => JSON.stringify(v);

function mlmodel(): string {
  const inputs = [
    { type: 'double', name: 'a', required: true },
    { type: 'long', name: 'b', required: true },
  ];
  const outputs = [{ type: 'double', required: true }];
  return [
    'artifact_path: model',
    'flavors:',
    '  js_function:',
    '    loader_module: jsfunc',
    '    code: code',
    '    entry: code/model.mjs',
    '    export_name: default',
    '    predict_fn: predict',
    '    config: {}',
    `    node_version: ${json(process.versions.node)}`,
    'model_uuid: 0123456789abcdef0123456789abcdef',
    'signature:',
    `  inputs: ${json(json(inputs))}`,
    `  outputs: ${json(json(outputs))}`,
    "utc_time_created: '2024-01-01 00:00:00.000000'",
    '',
  ].join('\n');
}

/**
 * Writes the `linear` package (see the module doc) under `dir`.
 *
 * @param dir - a directory to write into
 * @param options - `async`: make predict async
 * @returns the package directory
 */
export function linearModel(dir: string, options: { async?: boolean } = {}): string {
  const path = join(dir, options.async === true ? 'linear-async' : 'linear');
  mkdirSync(join(path, 'code'), { recursive: true });
  writeFileSync(join(path, 'MLmodel'), mlmodel());
  writeFileSync(join(path, 'code', 'model.mjs'), source(options.async === true));
  return path;
}
