/**
 * `saveOnnxModel`: write an ONNX model as a package in the layout `mlflow.onnx.save_model`
 * writes, so MLflow's Python tooling loads it and jsfunc loads it through the `onnx` flavor.
 *
 * ```
 * <path>/
 *   MLmodel                      flavors.onnx + flavors.python_function (loader_module mlflow.onnx)
 *   model.onnx                   the model, copied byte for byte
 *   conda.yaml                   python + pip: mlflow, onnx, onnxruntime
 *   python_env.yaml              MLflow's virtualenv spec (-r requirements.txt)
 *   requirements.txt             mlflow, onnx, onnxruntime (unpinned: no Python ran here)
 *   js_env.json                  Node, jsfunc and onnxruntime-node versions (drift warnings)
 *   input_example.json           when an example is given
 * ```
 *
 * `onnx_version` is the version of the Python `onnx` package that saved the model; no such
 * package runs here, so it is recorded as `unknown`, and the facts the file itself carries are
 * recorded next to it: `ir_version`, `opset_version` (default domain) and `producer`.
 *
 * Without a signature one is inferred from the session's input and output metadata (a
 * TensorSpec per tensor, -1 for dynamic dims; see `inferOnnxSignature`).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { ModelError } from '../errors.js';
import {
  DEFAULT_ONNX_PROVIDERS,
  ONNX_FLAVOR,
  ONNX_LOADER_MODULE,
  ONNX_MODEL_FILE,
  createOnnxSession,
  toOrtSessionOptions,
} from '../flavors/onnx.js';
import { inferOnnxSignature } from '../flavors/onnx-io.js';
import { signatureOption, type SignatureInput } from '../signature/signature-option.js';
import type { ModelSignature } from '../signature/types.js';
import { resolveFromJsfunc } from './bundle.js';
import { findOwningPackage, jsfuncVersion, writeJsEnv } from './environment.js';
import { writeInputExample } from './input-example.js';
import { externalizeInitializers } from './onnx-external-data.js';
import { MLMODEL_FILE_NAME, mlmodelToDict, serializeMLmodel } from './mlmodel.js';
import {
  abandonSave,
  ensureEmptyTarget,
  formatUtcTime,
  jsonClone,
  optionError,
  packageSizeBytes,
} from './save-model.js';
import type { InputExampleInfo, ModelMetadata } from './types.js';

/** MLflow's environment file names. */
export const CONDA_ENV_FILE_NAME = 'conda.yaml';
/** MLflow's virtualenv spec file name. */
export const PYTHON_ENV_FILE_NAME = 'python_env.yaml';
/** MLflow's pip requirements file name. */
export const REQUIREMENTS_FILE_NAME = 'requirements.txt';
/** Python version recorded by default (major.minor: MLflow resolves it to the latest patch). */
export const DEFAULT_PYTHON_VERSION = '3.10';
/** The pip packages MLflow needs to load an ONNX package through pyfunc. */
export const ONNX_PIP_REQUIREMENTS: readonly string[] = ['mlflow', 'onnx', 'onnxruntime'];

/** Options for {@link saveOnnxModel}. */
export interface SaveOnnxModelOptions {
  /** Path of the `.onnx` file to package. */
  onnxModel: string;
  /**
   * The signature. Default: inferred from the session's metadata. `null` writes none (MLflow's
   * `signature=False`).
   */
  signature?: SignatureInput | null;
  /** An input example: Arrow table, rows, columns or a 2-D array. Default none. */
  inputExample?: unknown;
  /** Free-form metadata recorded at the top level of MLmodel. Default none. */
  metadata?: Readonly<Record<string, unknown>>;
  /**
   * Session options in MLflow's spelling (`intra_op_num_threads`, `execution_mode`, ...),
   * recorded as the flavor's `onnx_session_options` so both MLflow and jsfunc apply them.
   * Default none.
   */
  modelConfig?: Readonly<Record<string, unknown>>;
  /** Execution providers in MLflow's names. Default `[CUDAExecutionProvider, CPUExecutionProvider]`. */
  providers?: readonly string[];
  /** Python version recorded for MLflow's environments. Default {@link DEFAULT_PYTHON_VERSION}. */
  pythonVersion?: string;
  /**
   * Store the initializers of 1 KiB and more in `model.onnx.data` beside `model.onnx` (ONNX's
   * external data format, as `mlflow.onnx.save_model` writes by default) instead of inside it.
   * onnxruntime memory-maps an external-data file, so every session in the process (one per
   * pool worker) shares one copy of the weights; weights inside `model.onnx` are copied into
   * each session. Default false (the file is copied as it is). A model whose initializers are
   * all small (or already external) is copied as it is.
   */
  externalData?: boolean;
}

/** The external-data file {@link SaveOnnxModelOptions.externalData} writes (ONNX's default name). */
export const ONNX_EXTERNAL_DATA_FILE = 'model.onnx.data';

/** Facts read from an ONNX file's `ModelProto` header. */
export interface OnnxModelHeader {
  irVersion: number | null;
  /** Opset of the default (`ai.onnx`) domain. */
  opsetVersion: number | null;
  /** `producer_name` and `producer_version`, e.g. `skl2onnx 1.11`. */
  producer: string | null;
}

/**
 * Reads `ir_version`, the default-domain opset and the producer from the top level of an ONNX
 * `ModelProto` (protobuf fields 1, 8, 2 and 3), skipping the graph without decoding it.
 *
 * @param bytes - The file contents.
 * @returns The header facts; fields the file lacks (or that cannot be read) are null.
 */
export function readOnnxHeader(bytes: Uint8Array): OnnxModelHeader {
  const out: OnnxModelHeader = { irVersion: null, opsetVersion: null, producer: null };
  const text = new TextDecoder();
  let producerName: string | null = null;
  let producerVersion: string | null = null;
  const varint = (buf: Uint8Array, pos: number): [number, number] => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = buf[pos++];
      if (b === undefined) throw new RangeError('truncated varint');
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return [value, pos];
      scale *= 128;
    }
    throw new RangeError('varint too long');
  };
  const fields = (
    buf: Uint8Array,
    fn: (field: number, wire: number, value: number, body: Uint8Array | null) => void
  ) => {
    let pos = 0;
    while (pos < buf.length) {
      const [key, p1] = varint(buf, pos);
      const field = Math.floor(key / 8);
      const wire = key % 8;
      pos = p1;
      if (wire === 0) {
        const [v, p2] = varint(buf, pos);
        pos = p2;
        fn(field, wire, v, null);
      } else if (wire === 2) {
        const [len, p2] = varint(buf, pos);
        if (p2 + len > buf.length) throw new RangeError('truncated field');
        fn(field, wire, len, buf.subarray(p2, p2 + len));
        pos = p2 + len;
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else throw new RangeError(`unsupported wire type ${wire}`);
    }
  };
  try {
    fields(bytes, (field, _wire, value, body) => {
      if (field === 1 && body === null) out.irVersion = value;
      else if (field === 2 && body !== null) producerName = text.decode(body);
      else if (field === 3 && body !== null) producerVersion = text.decode(body);
      else if (field === 8 && body !== null) {
        let domain = '';
        let version: number | null = null;
        fields(body, (f, _w, v, b) => {
          if (f === 1 && b !== null) domain = text.decode(b);
          else if (f === 2 && b === null) version = v;
        });
        if ((domain === '' || domain === 'ai.onnx') && version !== null) out.opsetVersion = version;
      }
    });
  } catch {
    // A file that is not a ModelProto keeps the facts read so far; the session reports the error.
  }
  if (producerName !== null)
    out.producer = producerVersion ? `${producerName} ${producerVersion}` : producerName;
  return out;
}

/** PyYAML `safe_dump(default_flow_style=False)` layout, as MLflow writes its env files. */
function pyYaml(value: unknown, sortKeys: boolean): string {
  return stringify(value, {
    version: '1.1',
    sortMapEntries: sortKeys,
    indentSeq: false,
    singleQuote: true,
  });
}

/**
 * Saves an ONNX model as a package that MLflow (`mlflow.onnx` / `mlflow.pyfunc.load_model`) and
 * jsfunc's {@link loadModel} both load.
 *
 * @param path - Target directory; must not exist or be empty.
 * @param options - See {@link SaveOnnxModelOptions}.
 * @returns The metadata written to `MLmodel`.
 * @throws {ModelError} E_OPTION_INVALID for bad options (including unknown session options);
 *   E_ARTIFACT_MISSING when `onnxModel` does not exist; E_TARGET_NOT_EMPTY when `path` is not
 *   empty; E_MODEL_LOAD when onnxruntime cannot open the model (corrupt file);
 *   E_INPUT_INVALID for an input example that cannot be converted; E_SAVE_FAILED when writing fails.
 *
 * @example
 * ```ts
 * await saveOnnxModel('out/iris-onnx', { onnxModel: 'iris.onnx' });
 * const model = await loadModel('out/iris-onnx');
 * ```
 */
export async function saveOnnxModel(
  path: string,
  options: SaveOnnxModelOptions
): Promise<ModelMetadata> {
  const target = resolve(path);
  if (typeof options?.onnxModel !== 'string' || options.onnxModel === '') {
    throw optionError('options.onnxModel must be the path of an .onnx file', 'onnxModel');
  }
  if (options.externalData !== undefined && typeof options.externalData !== 'boolean') {
    throw optionError(
      `options.externalData must be a boolean, found ${JSON.stringify(options.externalData)}`,
      'externalData'
    );
  }
  const providers = options.providers ?? DEFAULT_ONNX_PROVIDERS;
  if (!Array.isArray(providers) || !providers.every((p) => typeof p === 'string' && p !== '')) {
    throw optionError('options.providers must be a list of execution provider names', 'providers');
  }
  const pythonVersion = options.pythonVersion ?? DEFAULT_PYTHON_VERSION;
  if (typeof pythonVersion !== 'string' || !/^\d+\.\d+(\.\d+)?$/.test(pythonVersion)) {
    throw optionError(
      `options.pythonVersion must look like 3.10 or 3.10.12, found ${JSON.stringify(pythonVersion)}`,
      'pythonVersion'
    );
  }
  const sessionConfig =
    options.modelConfig === undefined
      ? null
      : jsonClone(options.modelConfig, 'options.modelConfig');
  if (sessionConfig !== null) {
    toOrtSessionOptions(sessionConfig, (message, key) =>
      optionError(`options.modelConfig: ${message}`, `modelConfig.${key}`)
    );
  }
  const metadata =
    options.metadata === undefined ? null : jsonClone(options.metadata, 'options.metadata');

  const source = resolve(options.onnxModel);
  if (!(await stat(source).catch(() => undefined))?.isFile()) {
    throw new ModelError(
      'E_ARTIFACT_MISSING',
      `ONNX model file "${options.onnxModel}" does not exist`,
      {
        details: { file: source },
      }
    );
  }
  // Opening the session validates the file before anything is written, and gives the metadata
  // a signature is inferred from.
  const session = await createOnnxSession(source);
  let signature: ModelSignature | null;
  try {
    signature =
      options.signature === undefined
        ? inferOnnxSignature(session.inputMetadata, session.outputMetadata)
        : signatureOption(options.signature);
  } finally {
    await session.release();
  }
  const header = readOnnxHeader(await readFile(source));

  const created = await ensureEmptyTarget(target);
  await mkdir(target, { recursive: true });
  try {
    const external = options.externalData
      ? externalizeInitializers(await readFile(source), ONNX_EXTERNAL_DATA_FILE)
      : null;
    if (external === null) await copyFile(source, join(target, ONNX_MODEL_FILE));
    else {
      await writeFile(join(target, ONNX_MODEL_FILE), external.model);
      await writeFile(join(target, ONNX_EXTERNAL_DATA_FILE), external.data);
    }
    let exampleInfo: InputExampleInfo | null = null;
    if (options.inputExample !== undefined && options.inputExample !== null) {
      exampleInfo = await writeInputExample(target, options.inputExample);
    }
    const version = jsfuncVersion();
    const ortUrl = resolveFromJsfunc('onnxruntime-node');
    const ortVersion =
      ortUrl === undefined
        ? undefined
        : findOwningPackage('onnxruntime-node', ortUrl)?.json['version'];
    await writeJsEnv(target, {
      node_version: process.versions.node,
      jsfunc_version: version,
      external: { 'onnxruntime-node': typeof ortVersion === 'string' ? ortVersion : null },
      bundled: {},
    });

    const flavors: Record<string, Record<string, unknown>> = {
      python_function: {
        loader_module: ONNX_LOADER_MODULE,
        python_version: pythonVersion,
        data: ONNX_MODEL_FILE,
        env: { conda: CONDA_ENV_FILE_NAME, virtualenv: PYTHON_ENV_FILE_NAME },
      },
      [ONNX_FLAVOR]: {
        onnx_version: 'unknown',
        data: ONNX_MODEL_FILE,
        providers: [...providers],
        onnx_session_options: sessionConfig,
        code: null,
        ir_version: header.irVersion,
        opset_version: header.opsetVersion,
        producer: header.producer,
      },
    };
    // MLflow measures the directory before writing MLmodel and the env files.
    const size = await packageSizeBytes(target);
    const meta: ModelMetadata = {
      flavors,
      modelUuid: randomUUID().replaceAll('-', ''),
      utcTimeCreated: formatUtcTime((performance.timeOrigin + performance.now()) * 1000),
      mlflowVersion: null,
      signature,
      savedInputExampleInfo: exampleInfo,
      modelSizeBytes: size,
      metadata,
      raw: { jsfunc_version: version },
    };
    meta.raw = mlmodelToDict(meta);
    await writeFile(join(target, MLMODEL_FILE_NAME), serializeMLmodel(meta));

    await writeFile(
      join(target, CONDA_ENV_FILE_NAME),
      pyYaml(
        {
          channels: ['conda-forge'],
          dependencies: [`python=${pythonVersion}`, 'pip', { pip: [...ONNX_PIP_REQUIREMENTS] }],
          name: 'mlflow-env',
        },
        true
      )
    );
    await writeFile(
      join(target, PYTHON_ENV_FILE_NAME),
      pyYaml(
        {
          python: pythonVersion,
          build_dependencies: ['pip', 'setuptools', 'wheel'],
          dependencies: [`-r ${REQUIREMENTS_FILE_NAME}`],
        },
        false
      )
    );
    await writeFile(join(target, REQUIREMENTS_FILE_NAME), ONNX_PIP_REQUIREMENTS.join('\n'));
    return meta;
  } catch (error) {
    throw await abandonSave(target, created, error, 'the ONNX model');
  }
}
