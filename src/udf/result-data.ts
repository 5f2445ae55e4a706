/**
 * Arrow data of a result type, built from per-row accessors: primitives (with typed-array fast
 * paths), lists, structs and maps, recursively. Nulls go into validity bitmaps; every message
 * names the output column, row and field that failed.
 *
 * @module
 */
import { Field, List, Map_, Struct, isArrowVector, makeData } from 'apache-arrow';
import type { Bool, Data, Float64, Utf8, Vector } from 'apache-arrow';
import { castTyped, convertValue, describeValue } from './convert-value.js';
import { formatResultType, primitiveArrowType } from './result-type.js';
import type { ResultPrimitive, ResultType } from './result-type.js';
import { isTyped, outputError } from './to-output-columns.js';
import type { OutColumn, TypedArray } from './to-output-columns.js';

const encoder = new TextEncoder();

function bitmap(n: number): Uint8Array {
  return new Uint8Array((n + 7) >> 3);
}

class Validity {
  readonly bits: Uint8Array;
  nulls = 0;
  constructor(n: number) {
    this.bits = bitmap(n).fill(0xff);
  }
  setNull(i: number): void {
    this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }
  props(): { nullCount: number; nullBitmap?: Uint8Array } {
    return this.nulls === 0 ? { nullCount: 0 } : { nullCount: this.nulls, nullBitmap: this.bits };
  }
}

/**
 * Builds primitive data of `t` from `n` values read by `get` (the slow, per-value path).
 *
 * @param t - the primitive result type.
 * @param n - the number of values.
 * @param get - reads value `i`.
 * @param where - names value `i` for messages.
 * @param fromFloat32 - whether values (all, or value `i`) come from float32; default false.
 * @returns Arrow data of `primitiveArrowType(t)`, nulls in its bitmap.
 * @throws {ModelError} E_MODEL_OUTPUT when a value cannot convert.
 */
export function primitiveData(
  t: ResultPrimitive,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string,
  fromFloat32: boolean | ((i: number) => boolean) = false
): Data {
  const type = primitiveArrowType(t);
  const valid = new Validity(n);
  if (t === 'string') {
    const strs: (string | null)[] = new Array(n);
    let max = 0;
    for (let i = 0; i < n; i++) {
      const f32 = typeof fromFloat32 === 'function' ? fromFloat32(i) : fromFloat32;
      const s = convertValue(get(i), t, () => where(i), f32) as string | null;
      strs[i] = s;
      if (s === null) valid.setNull(i);
      else max += s.length * 3;
    }
    const bytes = new Uint8Array(max);
    const offsets = new Int32Array(n + 1);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const s = strs[i];
      if (s !== null && s !== undefined && s.length > 0)
        pos += encoder.encodeInto(s, bytes.subarray(pos)).written;
      offsets[i + 1] = pos;
    }
    return makeData({
      type: type as Utf8,
      length: n,
      ...valid.props(),
      valueOffsets: offsets,
      data: bytes.subarray(0, pos),
    });
  }
  if (t === 'boolean') {
    const bits = bitmap(n);
    for (let i = 0; i < n; i++) {
      const b = convertValue(get(i), t, () => where(i));
      if (b === null) valid.setNull(i);
      else if (b === true) bits[i >> 3]! |= 1 << (i & 7);
    }
    return makeData({ type: type as Bool, length: n, ...valid.props(), data: bits });
  }
  const values =
    t === 'double'
      ? new Float64Array(n)
      : t === 'float'
        ? new Float32Array(n)
        : t === 'int'
          ? new Int32Array(n)
          : new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const x = convertValue(get(i), t, () => where(i));
    if (x === null) valid.setNull(i);
    else (values as { [k: number]: unknown })[i] = x;
  }
  return makeData({
    type: type as Float64,
    length: n,
    ...valid.props(),
    data: values as Float64Array,
  });
}

/**
 * Converts a whole output column to primitive data of `t` (fast paths first).
 *
 * @param c - the output column.
 * @param t - the primitive result type.
 * @param label - names the column in messages (`Model output column 'x'`).
 * @returns Arrow data of `primitiveArrowType(t)`.
 * @throws {ModelError} E_MODEL_OUTPUT when a value cannot convert.
 */
export function columnToPrimitive(c: OutColumn, t: ResultPrimitive, label: string): Data {
  const where = (i: number): string => `${label} row ${i}`;
  if (c.typed !== undefined && t !== 'string' && t !== 'boolean') {
    const cast = castTyped(c.typed, t);
    if (cast !== undefined)
      return makeData({
        type: primitiveArrowType(t) as Float64,
        length: cast.length,
        nullCount: 0,
        data: cast as Float64Array,
      });
  }
  if (c.dtype === 'number' && (t === 'double' || t === 'float')) {
    // Plain JS numbers (already classified): one tight loop, nulls into the bitmap.
    const n = c.length;
    const out = t === 'double' ? new Float64Array(n) : new Float32Array(n);
    const valid = new Validity(n);
    for (let i = 0; i < n; i++) {
      const v = c.get(i) as number | null | undefined;
      if (v === null || v === undefined) valid.setNull(i);
      else out[i] = v;
    }
    return makeData({
      type: primitiveArrowType(t) as Float64,
      length: n,
      ...valid.props(),
      data: out as Float64Array,
    });
  }
  return primitiveData(t, c.length, c.get, where, c.dtype === 'float32');
}

/**
 * Per-row values of any result type, converted recursively.
 *
 * @param rt - the result type.
 * @param n - the number of rows.
 * @param get - reads row `i`.
 * @param where - names row `i` for messages.
 * @returns Arrow data of `resultTypeToArrow(rt)`.
 * @throws {ModelError} E_MODEL_OUTPUT when a row or value does not fit the type.
 */
export function nestedData(
  rt: ResultType,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string
): Data {
  switch (rt.kind) {
    case 'primitive':
      return primitiveData(rt.type, n, get, where);
    case 'array':
      return listData(rt, n, get, where);
    case 'struct':
      return structRows(rt, n, get, where);
    case 'map':
      return mapData(rt, n, get, where);
  }
}

/** The items of one array-typed row: null for a null or NaN row (MLflow #8986). */
function rowItems(v: unknown, where: () => string, rt: ResultType): ArrayLike<unknown> | null {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return null;
  if (Array.isArray(v) || isTyped(v)) return v as ArrayLike<unknown>;
  if (isArrowVector(v)) {
    const arr: unknown = v.toArray();
    return isTyped(arr) && v.nullCount === 0 ? arr : Array.from(v as Vector);
  }
  throw outputError(
    `${where()}: expected an array for ${formatResultType(rt)}, found ${describeValue(v)}.`
  );
}

/**
 * An array result type from per-row arrays (plain, typed or Arrow); a null or NaN row is a null
 * list (MLflow #8986). Rows of typed arrays are concatenated with `TypedArray.set` when safe.
 *
 * @param rt - the array result type.
 * @param n - the number of rows.
 * @param get - reads row `i`.
 * @param where - names row `i` for messages.
 * @returns List data.
 * @throws {ModelError} E_MODEL_OUTPUT when a row is not an array or an element does not convert.
 */
export function listData(
  rt: Extract<ResultType, { kind: 'array' }>,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string
): Data {
  const valid = new Validity(n);
  const offsets = new Int32Array(n + 1);
  const rows: (ArrayLike<unknown> | null)[] = new Array(n);
  let total = 0;
  let allTyped = true;
  for (let i = 0; i < n; i++) {
    const items = rowItems(get(i), () => where(i), rt);
    rows[i] = items;
    if (items === null) valid.setNull(i);
    else {
      total += items.length;
      if (!isTyped(items)) allTyped = false;
    }
    offsets[i + 1] = total;
  }
  let child: Data | undefined;
  const el = rt.element;
  if (allTyped && el.kind === 'primitive') {
    // Fast path: rows of typed arrays concatenated with TypedArray.set when the cast is safe.
    const probe = rows.find((r) => r !== null) as TypedArray | undefined;
    const target = probe === undefined ? undefined : castTyped(probe.subarray(0, 0), el.type);
    if (target !== undefined) {
      const Ctor = target.constructor as { new (n: number): TypedArray };
      const out = new Ctor(total);
      let ok = true;
      for (let i = 0; i < n && ok; i++) {
        const r = rows[i] as TypedArray | null;
        if (r === null) continue;
        const cast = castTyped(r, el.type);
        if (cast === undefined || cast.constructor !== Ctor) ok = false;
        else (out as Float64Array).set(cast as Float64Array, offsets[i]);
      }
      if (ok)
        child = makeData({
          type: primitiveArrowType(el.type) as Float64,
          length: total,
          nullCount: 0,
          data: out as Float64Array,
        });
    }
  }
  if (child === undefined) {
    const flat: unknown[] = new Array(total);
    const rowOf = new Int32Array(total);
    for (let i = 0, k = 0; i < n; i++) {
      const r = rows[i];
      if (r === null || r === undefined) continue;
      for (let j = 0; j < r.length; j++, k++) {
        flat[k] = r[j];
        rowOf[k] = i;
      }
    }
    child = nestedData(
      el,
      total,
      (k) => flat[k],
      (k) => `${where(rowOf[k] ?? 0)} element ${k - (offsets[rowOf[k] ?? 0] ?? 0)}`
    );
  }
  return makeData({
    type: new List(new Field('element', child.type, true)),
    length: n,
    ...valid.props(),
    valueOffsets: offsets,
    child,
  });
}

/** The Struct type of `rt` over the children's actual types. */
export function structOf(rt: Extract<ResultType, { kind: 'struct' }>, children: Data[]): Struct {
  return new Struct(rt.fields.map((f, i) => new Field(f.name, (children[i] as Data).type, true)));
}

function structRows(
  rt: Extract<ResultType, { kind: 'struct' }>,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string
): Data {
  const valid = new Validity(n);
  const rows: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    rows[i] = v;
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)))
      valid.setNull(i);
    else if (typeof v !== 'object') {
      throw outputError(
        `${where(i)}: expected an object or tuple for ${formatResultType(rt)}, found ${describeValue(v)}.`
      );
    }
  }
  const children = rt.fields.map((f, j) =>
    nestedData(
      f.type,
      n,
      (i) => {
        const r = rows[i] as
          Record<string, unknown> | unknown[] | Map<string, unknown> | null | undefined;
        if (r === null || r === undefined || typeof r !== 'object') return null;
        if (Array.isArray(r)) return r[j];
        if (r instanceof Map) return r.get(f.name);
        return (r as Record<string, unknown>)[f.name];
      },
      (i) => `${where(i)} field '${f.name}'`
    )
  );
  return makeData({ type: structOf(rt, children), length: n, ...valid.props(), children });
}

function mapEntries(v: unknown): [string, unknown][] | null | undefined {
  if (v === null || v === undefined) return null;
  if (v instanceof Map) return [...v].map(([k, x]) => [String(k), x]);
  if (typeof v === 'object' && !Array.isArray(v) && !isTyped(v)) {
    const toJSON = (v as { toJSON?: () => unknown }).toJSON;
    const obj = typeof toJSON === 'function' ? toJSON.call(v) : v;
    if (typeof obj === 'object' && obj !== null)
      return Object.entries(obj as Record<string, unknown>);
  }
  return undefined;
}

/**
 * A map result type from per-row objects, `Map`s or Arrow map rows.
 *
 * @param rt - the map result type.
 * @param n - the number of rows.
 * @param get - reads row `i`.
 * @param where - names row `i` for messages.
 * @returns Map data with Utf8 keys.
 * @throws {ModelError} E_MODEL_OUTPUT when a row is not an object or a value does not convert.
 */
export function mapData(
  rt: Extract<ResultType, { kind: 'map' }>,
  n: number,
  get: (i: number) => unknown,
  where: (i: number) => string
): Data {
  const valid = new Validity(n);
  const offsets = new Int32Array(n + 1);
  const keys: string[] = [];
  const values: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const v = get(i);
    const entries = mapEntries(v);
    if (entries === undefined)
      throw outputError(
        `${where(i)}: expected an object or Map for ${formatResultType(rt)}, found ${describeValue(v)}.`
      );
    if (entries === null) valid.setNull(i);
    else {
      for (const [k, x] of entries) {
        keys.push(k);
        values.push(x);
      }
    }
    offsets[i + 1] = keys.length;
  }
  const keyData = primitiveData(
    'string',
    keys.length,
    (k) => keys[k],
    () => 'map key'
  );
  const valueData = nestedData(
    rt.value,
    values.length,
    (k) => values[k],
    (k) => `${where(0)} map value '${keys[k]}'`
  );
  const entryType = new Struct([
    new Field('key', keyData.type, false),
    new Field('value', valueData.type, true),
  ]);
  const entries = makeData({
    type: entryType,
    length: keys.length,
    nullCount: 0,
    children: [keyData, valueData],
  });
  return makeData({
    type: new Map_(new Field('entries', entryType, false), false),
    length: n,
    ...valid.props(),
    valueOffsets: offsets,
    child: entries,
  });
}

/**
 * MLflow's `array<prim>` from several columns: each row's compatible columns, in order.
 *
 * @param cols - the selected columns (all compatible with `t`).
 * @param t - the element type.
 * @param n - the number of rows.
 * @returns List data with `cols.length` elements per row.
 * @throws {ModelError} E_MODEL_OUTPUT when a value cannot convert.
 */
export function rowsOfColumns(cols: OutColumn[], t: ResultPrimitive, n: number): Data {
  const k = cols.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = i * k;
  let child: Data | undefined;
  if (t !== 'string' && t !== 'boolean') {
    const casts = cols.map((c) => (c.typed === undefined ? undefined : castTyped(c.typed, t)));
    if (casts.every((x) => x !== undefined)) {
      const Ctor = (casts[0] as TypedArray).constructor as { new (n: number): TypedArray };
      const out = new Ctor(n * k) as Float64Array;
      casts.forEach((a, j) => {
        const src = a as Float64Array;
        for (let i = 0; i < n; i++) out[i * k + j] = src[i] as number;
      });
      child = makeData({
        type: primitiveArrowType(t) as Float64,
        length: n * k,
        nullCount: 0,
        data: out,
      });
    }
  }
  child ??= primitiveData(
    t,
    n * k,
    (x) => (cols[x % k] as OutColumn).get(Math.floor(x / k)),
    (x) => `Model output column '${(cols[x % k] as OutColumn).name}' row ${Math.floor(x / k)}`,
    (x) => (cols[x % k] as OutColumn).dtype === 'float32'
  );
  return makeData({
    type: new List(new Field('element', child.type, true)),
    length: n,
    nullCount: 0,
    valueOffsets: offsets,
    child,
  });
}
