/**
 * The result type of a UDF: what one output column holds, mirroring the Spark types that
 * MLflow's `spark_udf` accepts (`_check_udf_return_type`).
 *
 * A {@link ResultType} is plain data, so it can be posted to worker threads as it is. It comes
 * from a Spark DDL string (`'double'`, `'array<float>'`, `'struct<label:string,score:double>'`,
 * or MLflow's column-list form `'a int, b float'`), from an Arrow `DataType`, or is inferred
 * from a model's output schema the way `_infer_spark_udf_return_type` does.
 *
 * Allowed, as in MLflow: the primitives `int`, `long`, `float`, `double`, `string`, `boolean`,
 * and any nesting of `array<…>`, `struct<…>` and `map<string, …>` over them. Everything else
 * (`timestamp`, `date`, `binary`, `decimal`, `tinyint`, `smallint`, …) is rejected with
 * `Invalid 'spark_udf' result type: …`, also when nested.
 *
 * @module
 */
import { Field, List, Map_, Struct, Type, Utf8 } from 'apache-arrow';
import type { DataType } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { arrowTypeFor } from '../signature/arrow-types.js';
import type { ColSpec, DataTypeName, Schema, TensorSpec, ValueType } from '../signature/types.js';
import { defaultWarn } from '../warnings.js';
import type { WarnFn } from '../warnings.js';

/** The primitive result types (Spark Integer/Long/Float/Double/String/Boolean). */
export const ResultPrimitives = ['int', 'long', 'float', 'double', 'string', 'boolean'] as const;

/** One of the primitive result types. */
export type ResultPrimitive = (typeof ResultPrimitives)[number];

/** A field of a struct result type; fields keep their declared order. */
export interface ResultField {
  name: string;
  type: ResultType;
}

/** The type of a UDF's output column: plain data, postable to worker threads. */
export type ResultType =
  | { kind: 'primitive'; type: ResultPrimitive }
  | { kind: 'array'; element: ResultType }
  | { kind: 'struct'; fields: ResultField[] }
  | { kind: 'map'; value: ResultType };

const ALIASES: Readonly<Record<string, ResultPrimitive>> = {
  int: 'int',
  integer: 'int',
  long: 'long',
  bigint: 'long',
  float: 'float',
  real: 'float',
  double: 'double',
  string: 'string',
  boolean: 'boolean',
  bool: 'boolean',
};

/** Spark type names that parse but that a UDF result cannot hold (MLflow rejects them too). */
const UNSUPPORTED = new Set([
  'timestamp',
  'timestamp_ntz',
  'timestamp_ltz',
  'date',
  'binary',
  'decimal',
  'dec',
  'numeric',
  'tinyint',
  'byte',
  'smallint',
  'short',
  'void',
  'interval',
  'char',
  'varchar',
  'variant',
]);

function invalid(what: string, details: Record<string, unknown> = {}): ModelError {
  return new ModelError(
    'E_RESULT_TYPE_INVALID',
    `Invalid 'spark_udf' result type: ${what}. Allowed: int, long (bigint), float, double, ` +
      `string, boolean, and array<…>, struct<…>, map<string, …> of them.`,
    { details }
  );
}

// ---------------------------------------------------------------------------------------------
// DDL parsing

interface Token {
  text: string;
  pos: number;
  /** `ident` for names and type keywords, otherwise the punctuation itself. */
  kind: 'ident' | '<' | '>' | ',' | ':' | '(' | ')' | 'eof';
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if ('<>,:()'.includes(c)) {
      tokens.push({ text: c, pos: i, kind: c as Token['kind'] });
      i++;
    } else if (c === '`') {
      // Backtick-quoted identifier; `` is an escaped backtick (Spark's rule).
      let j = i + 1;
      let name = '';
      for (;;) {
        if (j >= src.length) throw syntaxError(src, i, 'a closing backtick', 'end of input');
        if (src[j] === '`') {
          if (src[j + 1] === '`') {
            name += '`';
            j += 2;
            continue;
          }
          break;
        }
        name += src[j];
        j++;
      }
      tokens.push({ text: name, pos: i, kind: 'ident' });
      i = j + 1;
    } else if (/[A-Za-z0-9_]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j] as string)) j++;
      tokens.push({ text: src.slice(i, j), pos: i, kind: 'ident' });
      i = j;
    } else {
      throw syntaxError(src, i, 'a type name, field name or one of < > , :', `'${c}'`);
    }
  }
  tokens.push({ text: '', pos: src.length, kind: 'eof' });
  return tokens;
}

function syntaxError(src: string, pos: number, expected: string, found: string): ModelError {
  return new ModelError(
    'E_RESULT_TYPE_INVALID',
    `Invalid 'spark_udf' result type '${src}': expected ${expected} at position ${pos}, ` +
      `but found ${found}.`,
    { details: { resultType: src, position: pos } }
  );
}

class DdlParser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[]
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }

  private fail(expected: string): never {
    const t = this.peek();
    throw syntaxError(this.src, t.pos, expected, t.kind === 'eof' ? 'end of input' : `'${t.text}'`);
  }

  private expect(kind: Token['kind'], expected: string): Token {
    const t = this.peek();
    if (t.kind !== kind) this.fail(expected);
    this.i++;
    return t;
  }

  /** True when the input is MLflow's top-level column list (`a int, b float`). */
  looksLikeColumnList(): boolean {
    const first = this.peek(0);
    const second = this.peek(1);
    return first.kind === 'ident' && (second.kind === 'ident' || second.kind === ':');
  }

  parseTop(): ResultType {
    const rt = this.looksLikeColumnList()
      ? { kind: 'struct' as const, fields: this.parseFields('eof') }
      : this.parseType();
    this.expect('eof', 'end of input');
    return rt;
  }

  private parseFields(end: 'eof' | '>'): ResultField[] {
    const fields: ResultField[] = [];
    const seen = new Set<string>();
    for (;;) {
      const nameTok = this.expect('ident', 'a field name');
      if (this.peek().kind === ':') this.i++;
      const type = this.parseType();
      if (seen.has(nameTok.text)) {
        throw new ModelError(
          'E_RESULT_TYPE_INVALID',
          `Invalid 'spark_udf' result type '${this.src}': duplicate field name ` +
            `'${nameTok.text}' at position ${nameTok.pos}.`,
          { details: { resultType: this.src, position: nameTok.pos } }
        );
      }
      seen.add(nameTok.text);
      fields.push({ name: nameTok.text, type });
      if (this.peek().kind === ',') {
        this.i++;
        continue;
      }
      if (this.peek().kind !== end) this.fail(end === 'eof' ? "',' or end of input" : "',' or '>'");
      return fields;
    }
  }

  private parseType(): ResultType {
    const t = this.expect('ident', 'a type name');
    const name = t.text.toLowerCase();
    if (name === 'array') {
      this.expect('<', "'<' after array");
      const element = this.parseType();
      this.expect('>', "'>' closing array<");
      return { kind: 'array', element };
    }
    if (name === 'struct') {
      this.expect('<', "'<' after struct");
      const fields = this.peek().kind === '>' ? this.fail('a field name') : this.parseFields('>');
      this.expect('>', "'>' closing struct<");
      return { kind: 'struct', fields };
    }
    if (name === 'map') {
      this.expect('<', "'<' after map");
      const keyTok = this.peek();
      const key = this.parseType();
      if (!(key.kind === 'primitive' && key.type === 'string')) {
        throw invalid(`${this.src.trim()} (map keys must be string)`, {
          resultType: this.src,
          position: keyTok.pos,
        });
      }
      this.expect(',', "',' between map key and value types");
      const value = this.parseType();
      this.expect('>', "'>' closing map<");
      return { kind: 'map', value };
    }
    const prim = ALIASES[name];
    if (prim !== undefined) return { kind: 'primitive', type: prim };
    if (UNSUPPORTED.has(name)) {
      // Swallow a parameter list such as decimal(10,2) or varchar(5) so the message names it.
      let text = name;
      if (this.peek().kind === '(') {
        while (this.peek().kind !== ')' && this.peek().kind !== 'eof') this.i++;
        const end = this.expect(')', "')'").pos;
        text = this.src.slice(t.pos, end + 1).replace(/\s+/g, '');
      }
      const whole = this.src.trim();
      const what = whole.toLowerCase() === text ? whole : `${whole} ('${text}' is not supported)`;
      throw invalid(what, { resultType: this.src, position: t.pos });
    }
    throw syntaxError(this.src, t.pos, 'a type name', `unknown type '${t.text}'`);
  }
}

function parseDdl(src: string): ResultType {
  const tokens = tokenize(src);
  if (tokens.length === 1) throw syntaxError(src, 0, 'a type name', 'end of input');
  return new DdlParser(src, tokens).parseTop();
}

// ---------------------------------------------------------------------------------------------
// Arrow DataType and plain ResultType inputs

function isDataType(x: unknown): x is DataType {
  return (
    typeof x === 'object' && x !== null && typeof (x as { typeId?: unknown }).typeId === 'number'
  );
}

function fromArrow(t: DataType): ResultType {
  const any = t as DataType & {
    bitWidth?: number;
    isSigned?: boolean;
    precision?: number;
    children?: Field[];
  };
  switch (t.typeId) {
    case Type.Bool:
      return { kind: 'primitive', type: 'boolean' };
    case Type.Int:
      if (any.isSigned === true && any.bitWidth === 32) return { kind: 'primitive', type: 'int' };
      if (any.isSigned === true && any.bitWidth === 64) return { kind: 'primitive', type: 'long' };
      break;
    case Type.Float:
      if (any.precision === 1) return { kind: 'primitive', type: 'float' };
      if (any.precision === 2) return { kind: 'primitive', type: 'double' };
      break;
    case Type.Utf8:
    case Type.LargeUtf8:
      return { kind: 'primitive', type: 'string' };
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const child = any.children?.[0];
      if (child !== undefined) return { kind: 'array', element: fromArrow(child.type) };
      break;
    }
    case Type.Struct:
      return {
        kind: 'struct',
        fields: (any.children ?? []).map((f) => ({ name: f.name, type: fromArrow(f.type) })),
      };
    case Type.Map: {
      const entries = any.children?.[0]?.type as (DataType & { children?: Field[] }) | undefined;
      const key = entries?.children?.[0]?.type;
      const value = entries?.children?.[1]?.type;
      if (key !== undefined && value !== undefined) {
        const k = fromArrow(key);
        if (k.kind === 'primitive' && k.type === 'string') {
          return { kind: 'map', value: fromArrow(value) };
        }
      }
      break;
    }
    default:
      break;
  }
  throw invalid(String(t), { arrowType: String(t) });
}

function validatePlain(x: unknown, path: string): ResultType {
  const o = x as Record<string, unknown> | null;
  if (typeof o === 'object' && o !== null) {
    switch (o['kind']) {
      case 'primitive': {
        const t = o['type'];
        if (typeof t === 'string' && (ResultPrimitives as readonly string[]).includes(t)) {
          return { kind: 'primitive', type: t as ResultPrimitive };
        }
        throw invalid(`${String(t)}${path === '' ? '' : ` at ${path}`}`);
      }
      case 'array':
        return { kind: 'array', element: validatePlain(o['element'], `${path}[]`) };
      case 'map':
        return { kind: 'map', value: validatePlain(o['value'], `${path}{}`) };
      case 'struct': {
        const fields = o['fields'];
        if (Array.isArray(fields) && fields.length > 0) {
          const names = new Set<string>();
          return {
            kind: 'struct',
            fields: fields.map((f: unknown, i) => {
              const name = (f as { name?: unknown } | null)?.name;
              if (typeof name !== 'string' || names.has(name)) {
                throw invalid(
                  `struct field ${i}${path === '' ? '' : ` at ${path}`} has a missing or duplicate name`
                );
              }
              names.add(name);
              return {
                name,
                type: validatePlain((f as { type?: unknown }).type, `${path}.${name}`),
              };
            }),
          };
        }
        break;
      }
      default:
        break;
    }
  }
  throw invalid(`${JSON.stringify(x) ?? String(x)}${path === '' ? '' : ` at ${path}`}`);
}

/**
 * Parses a UDF result type from a Spark DDL string, an Arrow `DataType`, or an existing
 * {@link ResultType} (validated, since it may have crossed a thread or come from JSON).
 *
 * DDL is case-insensitive and allows spaces: `'double'`, `'bigint'`, `'bool'`,
 * `'array<array<float>>'`, `'struct<a:int, b:string>'` (or `a int`), `'map<string,double>'`,
 * and MLflow's top-level column list `'a int, b float'`, which means a struct.
 *
 * @param spec - the result type.
 * @returns the validated result type.
 * @throws {ModelError} E_RESULT_TYPE_INVALID when the DDL is malformed (the message names the
 *   position), or names a type a UDF result cannot hold (`timestamp`, `date`, `binary`, …, also
 *   nested), or the Arrow type has no result-type equivalent.
 */
export function parseResultType(spec: string | DataType | ResultType): ResultType {
  if (typeof spec === 'string') return parseDdl(spec);
  if (isDataType(spec)) return fromArrow(spec);
  return validatePlain(spec, '');
}

// ---------------------------------------------------------------------------------------------
// Inference from an output schema

function fromValueType(t: ValueType, where: string): ResultType {
  switch (t.type) {
    case 'boolean':
      return { kind: 'primitive', type: 'boolean' };
    case 'integer':
      return { kind: 'primitive', type: 'int' };
    case 'long':
      return { kind: 'primitive', type: 'long' };
    case 'float':
      return { kind: 'primitive', type: 'float' };
    case 'double':
      return { kind: 'primitive', type: 'double' };
    case 'string':
      return { kind: 'primitive', type: 'string' };
    case 'sparkml_vector':
      return { kind: 'array', element: { kind: 'primitive', type: 'double' } };
    case 'array':
      return { kind: 'array', element: fromValueType(t.items, where) };
    case 'object':
      return {
        kind: 'struct',
        fields: t.properties.map((p) => ({
          name: p.name,
          type: fromValueType(p.type, `${where}.${p.name}`),
        })),
      };
    case 'map':
      return { kind: 'map', value: fromValueType(t.values, where) };
    default:
      // binary, datetime and any: MLflow would infer Binary/Timestamp/Variant, which no
      // jsfunc result vector holds. Refuse early, before any batch runs.
      throw new ModelError(
        'E_RESULT_TYPE_INVALID',
        `Cannot infer the UDF result type: model output ${where} has type '${t.type}', which a ` +
          `UDF result cannot hold. Pass resultType explicitly (for example 'string').`,
        { details: { output: where, type: t.type } }
      );
  }
}

const TENSOR_DTYPES: Readonly<Record<string, ResultPrimitive>> = {
  bool: 'boolean',
  int8: 'int',
  int16: 'int',
  int32: 'int',
  uint8: 'int',
  uint16: 'int',
  int64: 'long',
  uint32: 'long',
  float16: 'float',
  float32: 'float',
  float64: 'double',
  str: 'string',
};

function fromTensorSpec(spec: TensorSpec, where: string): ResultType {
  const prim = TENSOR_DTYPES[spec.dtype];
  if (prim === undefined) {
    throw new ModelError(
      'E_RESULT_TYPE_INVALID',
      `Model output tensor spec type ${spec.dtype} (output ${where}) is not supported as a UDF ` +
        `result. Pass resultType explicitly.`,
      { details: { output: where, dtype: spec.dtype } }
    );
  }
  const element: ResultType = { kind: 'primitive', type: prim };
  if (spec.shape.length === 1) return { kind: 'array', element };
  if (spec.shape.length === 2) return { kind: 'array', element: { kind: 'array', element } };
  throw new ModelError(
    'E_RESULT_TYPE_INVALID',
    `Only 1D or 2D tensors are supported as UDF return value, but model output ${where} has ` +
      `shape [${spec.shape.join(', ')}].`,
    { details: { output: where, shape: spec.shape } }
  );
}

/**
 * Infers the UDF result type from a model's output schema, as MLflow's
 * `_infer_spark_udf_return_type`: one output gives its own type; several give a struct whose
 * fields are named by the output names (or their index when unnamed).
 *
 * Column types map `boolean`→boolean, `integer`→int, `long`→long, `float`→float,
 * `double`→double, `string`→string, Array→array, Object→struct (properties in schema order),
 * Map→map, `sparkml_vector`→array<double>. Tensor outputs map by dtype: 1-D shape → `array<T>`,
 * 2-D → `array<array<T>>`.
 *
 * Differences from MLflow, on purpose: `binary`, `datetime` and `any` outputs are refused (MLflow
 * infers Binary/Timestamp/Variant types that it would itself reject as explicit result types);
 * pass a result type such as `'string'` instead.
 *
 * @param outputs - the output schema, or null when the model has none.
 * @param warn - receives the "no output schema" warning; defaults to {@link defaultWarn}.
 * @returns the inferred result type (`double` when there is no output schema).
 * @throws {ModelError} E_RESULT_TYPE_INVALID for binary/datetime/any outputs, tensor dtypes
 *   with no result type, and tensors of more than 2 dimensions.
 */
export function inferResultType(outputs: Schema | null, warn: WarnFn = defaultWarn): ResultType {
  if (outputs === null || outputs.length === 0) {
    warn(
      "The model has no output schema; the UDF result type defaults to 'double'. Pass " +
        'resultType to choose another.'
    );
    return { kind: 'primitive', type: 'double' };
  }
  const specs = outputs as (ColSpec | TensorSpec)[];
  const typeOf = (spec: ColSpec | TensorSpec, i: number): ResultType => {
    const where = spec.name === undefined ? `#${i}` : `'${spec.name}'`;
    return spec.kind === 'tensor' ? fromTensorSpec(spec, where) : fromValueType(spec.type, where);
  };
  if (specs.length === 1) return typeOf(specs[0] as ColSpec | TensorSpec, 0);
  return {
    kind: 'struct',
    fields: specs.map((spec, i) => ({ name: spec.name ?? String(i), type: typeOf(spec, i) })),
  };
}

// ---------------------------------------------------------------------------------------------
// Arrow type and DDL text

/**
 * The Arrow type of a result vector: boolean→Bool, int→Int32, long→Int64, float→Float32,
 * double→Float64, string→Utf8, array→List (child `element`), struct→Struct, map→Map
 * (`entries: struct<key: utf8 not null, value>`). Every field is nullable except map keys.
 *
 * @param rt - the result type.
 * @returns a fresh Arrow `DataType`.
 */
export function resultTypeToArrow(rt: ResultType): DataType {
  switch (rt.kind) {
    case 'primitive':
      return primitiveArrowType(rt.type);
    case 'array':
      return new List(new Field('element', resultTypeToArrow(rt.element), true));
    case 'struct':
      return new Struct(rt.fields.map((f) => new Field(f.name, resultTypeToArrow(f.type), true)));
    case 'map': {
      const entries = new Struct<{ key: Utf8; value: DataType }>([
        new Field('key', new Utf8(), false),
        new Field('value', resultTypeToArrow(rt.value), true),
      ]);
      return new Map_<Utf8, DataType>(new Field('entries', entries, false), false);
    }
  }
}

/** The MLflow value type each primitive result type stands for (Spark int is MLflow integer). */
const PRIMITIVE_VALUE_TYPES: Readonly<Record<ResultPrimitive, DataTypeName>> = {
  boolean: 'boolean',
  int: 'integer',
  long: 'long',
  float: 'float',
  double: 'double',
  string: 'string',
};

/**
 * The Arrow type of a primitive result type: the same type `arrowTypeFor` gives its MLflow value
 * type (int -> Int32, long -> Int64, float -> Float32, double -> Float64, string -> Utf8,
 * boolean -> Bool).
 *
 * @param type - the primitive result type.
 * @returns a fresh Arrow `DataType`.
 */
export function primitiveArrowType(type: ResultPrimitive): DataType {
  // Never null: arrowTypeFor maps every primitive value type to an Arrow type.
  return arrowTypeFor({ type: PRIMITIVE_VALUE_TYPES[type] })!;
}

function formatName(name: string): string {
  return /^[A-Za-z0-9_]+$/.test(name) ? name : `\`${name.replace(/`/g, '``')}\``;
}

/**
 * Formats a result type as Spark's `simpleString` DDL: `double`, `bigint`, `array<int>`,
 * `struct<label:string,score:double>`, `map<string,float>`. Parsing the text gives the same
 * type back.
 *
 * @param rt - the result type.
 * @returns the DDL text.
 */
export function formatResultType(rt: ResultType): string {
  switch (rt.kind) {
    case 'primitive':
      return rt.type === 'long' ? 'bigint' : rt.type;
    case 'array':
      return `array<${formatResultType(rt.element)}>`;
    case 'struct':
      return `struct<${rt.fields.map((f) => `${formatName(f.name)}:${formatResultType(f.type)}`).join(',')}>`;
    case 'map':
      return `map<string,${formatResultType(rt.value)}>`;
  }
}
