/**
 * A generic Thrift COMPACT protocol codec: structs are decoded without a schema into plain data
 * that keeps every field (known or not) in wire order, so a decoded struct re-encodes to the
 * same bytes. Parquet's footer (`FileMetaData`) is the reason this exists: offsets inside it are
 * rewritten while everything else, including fields newer than this code, passes through.
 *
 * The representation is structured-clonable (plain objects and arrays, `bigint` for i64,
 * `Uint8Array` for binary and strings), so decoded metadata crosses threads with `postMessage`.
 *
 * Wire format (Thrift's TCompactProtocol):
 * - a field header is one byte `delta << 4 | type` when the id grows by 1..15 over the previous
 *   field of the same struct, else the byte `type` followed by the id as a zigzag varint; a 0
 *   byte ends the struct. A bool field carries its value in the type nibble (1 true, 2 false).
 * - i16/i32/i64 are zigzag varints, double is 8 bytes little-endian, binary is a varint length
 *   and the bytes.
 * - a list/set header is `size << 4 | elementType` for sizes below 15, else `0xF0 | elementType`
 *   then the size as a varint; a bool element is one byte (1 true, 2 false).
 * - a map is a varint size, then (if not empty) one byte `keyType << 4 | valueType`.
 *
 * Encoding is canonical (short forms whenever they fit), which is what every real writer emits
 * (arrow-rs, parquet-cpp, parquet-mr, DuckDB). A producer that used non-canonical forms
 * (over-long varints, a long field header where a short one fits) decodes to the same values but
 * re-encodes to the canonical bytes. The element type nibble of lists and maps is kept as found,
 * since writers disagree on the code of bool elements (1 or 2).
 *
 * @module
 */
import { ModelError } from '../errors.js';

/** The 4-bit type codes of the compact protocol. */
export const ThriftType = {
  /** A bool; in a field header 1 means true and 2 false, as an element type either code. */
  BOOL: 1,
  /** The other bool code (false in a field header; some writers use it as element type). */
  BOOL_FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
  UUID: 13,
} as const;

/** A compact-protocol type code (1..13). */
export type ThriftTypeCode = (typeof ThriftType)[keyof typeof ThriftType];

/**
 * A decoded value. Which member it is follows from the type code that goes with it: bool ->
 * `boolean`; byte/i16/i32/double -> `number`; i64 -> `bigint`; binary (and string) and uuid ->
 * `Uint8Array`; list/set -> {@link ThriftList}; map -> {@link ThriftMap}; struct ->
 * {@link ThriftStruct}.
 */
export type ThriftValue =
  boolean | number | bigint | Uint8Array | ThriftList | ThriftMap | ThriftStruct;

/** One field of a struct. `type` is {@link ThriftType.BOOL} for bool fields of either value. */
export interface ThriftField {
  id: number;
  type: ThriftTypeCode;
  value: ThriftValue;
}

/** A struct (or union): its fields in wire order. */
export interface ThriftStruct {
  fields: ThriftField[];
}

/** A list or set: the element type code as found on the wire, and the elements. */
export interface ThriftList {
  elementType: ThriftTypeCode;
  items: ThriftValue[];
}

/** A map: key and value type codes (0 when the map is empty: the wire omits them), entries. */
export interface ThriftMap {
  keyType: ThriftTypeCode | 0;
  valueType: ThriftTypeCode | 0;
  entries: [ThriftValue, ThriftValue][];
}

/** Nesting deeper than this is refused (real Parquet footers nest about 8 levels). */
const MAX_DEPTH = 64;

/**
 * Decodes one struct starting at `offset`.
 *
 * @param bytes - the encoded data
 * @param offset - where the struct starts; default 0
 * @returns the struct and the offset just past its stop byte
 * @throws {ModelError} E_FORMAT_MALFORMED when the bytes end early or hold an invalid type code
 */
export function decodeThriftStruct(
  bytes: Uint8Array,
  offset = 0
): { struct: ThriftStruct; end: number } {
  const reader = new Reader(bytes, offset);
  const struct = reader.struct(0);
  return { struct, end: reader.pos };
}

/**
 * Encodes one struct.
 *
 * @param struct - the struct (as {@link decodeThriftStruct} returns, or built by hand)
 * @returns its compact-protocol bytes
 * @throws {ModelError} E_INTERNAL when a value does not fit its type code
 */
export function encodeThriftStruct(struct: ThriftStruct): Uint8Array {
  const w = new ThriftWriter();
  w.struct(struct);
  return w.finish();
}

class Reader {
  pos: number;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    offset: number
  ) {
    this.pos = offset;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  struct(depth: number): ThriftStruct {
    if (depth > MAX_DEPTH) this.fail(`structs nested deeper than ${MAX_DEPTH}`);
    const fields: ThriftField[] = [];
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      if (header === 0) return { fields };
      const type = header & 0x0f;
      const delta = header >> 4;
      const id = delta === 0 ? this.zigzag32() : lastId + delta;
      if (id < -32768 || id > 32767) this.fail(`field id ${id} is not an i16`);
      lastId = id;
      if (type === ThriftType.BOOL || type === ThriftType.BOOL_FALSE) {
        fields.push({ id, type: ThriftType.BOOL, value: type === ThriftType.BOOL });
      } else {
        const code = this.typeCode(type);
        fields.push({ id, type: code, value: this.value(code, depth) });
      }
    }
  }

  private value(type: ThriftTypeCode, depth: number): ThriftValue {
    switch (type) {
      case ThriftType.BOOL:
      case ThriftType.BOOL_FALSE:
        // Only reached for list/set/map elements: one byte, 1 = true (anything else false).
        return this.byte() === 1;
      case ThriftType.BYTE: {
        const b = this.byte();
        return b > 127 ? b - 256 : b;
      }
      case ThriftType.I16:
      case ThriftType.I32:
        return this.zigzag32();
      case ThriftType.I64:
        return this.zigzag64();
      case ThriftType.DOUBLE: {
        this.need(8);
        const d = this.view.getFloat64(this.pos, true);
        this.pos += 8;
        return d;
      }
      case ThriftType.BINARY: {
        const n = this.varint32();
        this.need(n);
        const out = this.bytes.slice(this.pos, this.pos + n);
        this.pos += n;
        return out;
      }
      case ThriftType.UUID: {
        this.need(16);
        const out = this.bytes.slice(this.pos, this.pos + 16);
        this.pos += 16;
        return out;
      }
      case ThriftType.LIST:
      case ThriftType.SET: {
        const header = this.byte();
        let size = header >> 4;
        if (size === 15) size = this.varint32();
        const elementType = this.typeCode(header & 0x0f);
        // Every element takes at least one byte: a larger size is corrupt (and would allocate).
        if (size > this.bytes.length - this.pos) this.fail(`list of ${size} elements`);
        const items: ThriftValue[] = new Array<ThriftValue>(size);
        for (let i = 0; i < size; i++) items[i] = this.element(elementType, depth);
        return { elementType, items };
      }
      case ThriftType.MAP: {
        const size = this.varint32();
        if (size === 0) return { keyType: 0, valueType: 0, entries: [] };
        if (size > this.bytes.length - this.pos) this.fail(`map of ${size} entries`);
        const kv = this.byte();
        const keyType = this.typeCode(kv >> 4);
        const valueType = this.typeCode(kv & 0x0f);
        const entries: [ThriftValue, ThriftValue][] = [];
        for (let i = 0; i < size; i++) {
          entries.push([this.element(keyType, depth), this.element(valueType, depth)]);
        }
        return { keyType, valueType, entries };
      }
      case ThriftType.STRUCT:
        return this.struct(depth + 1);
    }
  }

  private element(type: ThriftTypeCode, depth: number): ThriftValue {
    return this.value(type, depth + 1);
  }

  private typeCode(t: number): ThriftTypeCode {
    if (t < 1 || t > 13) this.fail(`invalid type code ${t}`);
    return t as ThriftTypeCode;
  }

  private byte(): number {
    if (this.pos >= this.bytes.length) this.fail('unexpected end of data');
    return this.bytes[this.pos++]!;
  }

  private need(n: number): void {
    if (n > this.bytes.length - this.pos) this.fail('unexpected end of data');
  }

  /** An unsigned varint of at most 32 bits (higher bits of over-long encodings are dropped). */
  private varint32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 63) this.fail('varint longer than 10 bytes');
    }
  }

  private zigzag32(): number {
    const u = this.varint32();
    return (u >>> 1) ^ -(u & 1);
  }

  private zigzag64(): bigint {
    // Fast path: values below 2^49 accumulate exactly in a double.
    let result = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        const half = Math.floor(result / 2);
        return BigInt(result % 2 === 0 ? half : -half - 1);
      }
      mul *= 128;
    }
    this.pos = start;
    let big = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      big |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) this.fail('varint longer than 10 bytes');
    }
    big = BigInt.asUintN(64, big);
    return BigInt.asIntN(64, (big >> 1n) ^ -(big & 1n));
  }

  private fail(why: string): never {
    throw new ModelError(
      'E_FORMAT_MALFORMED',
      `Thrift compact data is malformed: ${why} (at byte ${this.pos}).`,
      { details: { offset: this.pos } }
    );
  }
}

/**
 * A compact-protocol writer into a growing buffer. {@link encodeThriftStruct} covers whole
 * structs; the low-level calls let a caller stream a large struct whose parts were encoded
 * earlier (the Parquet assembler writes each row group's bytes as it goes).
 */
export class ThriftWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  /** Last field id of each open struct (field headers are delta-encoded per struct). */
  private readonly lastIds: number[] = [];

  /** The bytes written so far (a view of the internal buffer). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Opens a struct: field ids of the fields written next are relative to it. */
  beginStruct(): void {
    this.lastIds.push(0);
  }

  /** Closes the innermost struct (writes its stop byte). */
  endStruct(): void {
    if (this.lastIds.pop() === undefined) throw internal('endStruct without beginStruct');
    this.byte(0);
  }

  /**
   * Writes a field header in the innermost open struct.
   *
   * @param id - the field id
   * @param type - its type code; for a bool field pass the value in `boolValue` instead
   * @param boolValue - the value of a bool field (its header carries it)
   */
  fieldHeader(id: number, type: ThriftTypeCode, boolValue?: boolean): void {
    const depth = this.lastIds.length - 1;
    if (depth < 0) throw internal('field outside a struct');
    const code =
      type === ThriftType.BOOL || type === ThriftType.BOOL_FALSE
        ? boolValue === true
          ? ThriftType.BOOL
          : ThriftType.BOOL_FALSE
        : type;
    const delta = id - this.lastIds[depth]!;
    if (delta > 0 && delta <= 15) {
      this.byte((delta << 4) | code);
    } else {
      this.byte(code);
      this.varint(((id << 1) ^ (id >> 31)) >>> 0);
    }
    this.lastIds[depth] = id;
  }

  /** Writes one whole field (header and value) in the innermost open struct. */
  field(id: number, type: ThriftTypeCode, value: ThriftValue): void {
    if (type === ThriftType.BOOL || type === ThriftType.BOOL_FALSE) {
      if (typeof value !== 'boolean') throw mismatch(type, value);
      this.fieldHeader(id, type, value);
    } else {
      this.fieldHeader(id, type);
      this.value(type, value);
    }
  }

  /** Writes a list/set header; the caller then writes `size` elements. */
  listHeader(elementType: ThriftTypeCode, size: number): void {
    if (size < 15) {
      this.byte((size << 4) | elementType);
    } else {
      this.byte(0xf0 | elementType);
      this.varint(size);
    }
  }

  /** Writes a whole struct (its fields, then a stop byte). */
  struct(s: ThriftStruct): void {
    this.beginStruct();
    for (const f of s.fields) this.field(f.id, f.type, f.value);
    this.endStruct();
  }

  /** Writes bytes that are already compact-protocol encoded (e.g. a struct encoded earlier). */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** Writes a value of the given type (outside a field header: an element or a field body). */
  value(type: ThriftTypeCode, v: ThriftValue): void {
    switch (type) {
      case ThriftType.BOOL:
      case ThriftType.BOOL_FALSE:
        if (typeof v !== 'boolean') throw mismatch(type, v);
        this.byte(v ? 1 : 2);
        return;
      case ThriftType.BYTE:
        if (typeof v !== 'number') throw mismatch(type, v);
        this.byte(v & 0xff);
        return;
      case ThriftType.I16:
      case ThriftType.I32:
        if (typeof v !== 'number') throw mismatch(type, v);
        this.varint(((v << 1) ^ (v >> 31)) >>> 0);
        return;
      case ThriftType.I64:
        if (typeof v !== 'bigint') throw mismatch(type, v);
        this.varint64(v);
        return;
      case ThriftType.DOUBLE:
        if (typeof v !== 'number') throw mismatch(type, v);
        this.reserve(8);
        this.view.setFloat64(this.len, v, true);
        this.len += 8;
        return;
      case ThriftType.BINARY:
        if (!(v instanceof Uint8Array)) throw mismatch(type, v);
        this.varint(v.length);
        this.raw(v);
        return;
      case ThriftType.UUID:
        if (!(v instanceof Uint8Array) || v.length !== 16) throw mismatch(type, v);
        this.raw(v);
        return;
      case ThriftType.LIST:
      case ThriftType.SET: {
        if (!isList(v)) throw mismatch(type, v);
        this.listHeader(v.elementType, v.items.length);
        for (const item of v.items) this.value(v.elementType, item);
        return;
      }
      case ThriftType.MAP: {
        if (!isMap(v)) throw mismatch(type, v);
        this.varint(v.entries.length);
        if (v.entries.length === 0) return;
        if (v.keyType === 0 || v.valueType === 0) throw internal('map entries without types');
        this.byte((v.keyType << 4) | v.valueType);
        for (const [k, val] of v.entries) {
          this.value(v.keyType, k);
          this.value(v.valueType, val);
        }
        return;
      }
      case ThriftType.STRUCT:
        if (!isStruct(v)) throw mismatch(type, v);
        this.struct(v);
        return;
    }
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  private varint(u: number): void {
    this.reserve(10);
    while (u > 0x7f) {
      this.buf[this.len++] = (u & 0x7f) | 0x80;
      u = Math.floor(u / 128);
    }
    this.buf[this.len++] = u;
  }

  private varint64(v: bigint): void {
    if (v >= -0x10000000000000n && v < 0x10000000000000n) {
      // |v| < 2^52: the zigzag value is below 2^53 and exact as a double.
      const n = Number(v);
      this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    this.reserve(10);
    while (z > 0x7fn) {
      this.buf[this.len++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.len++] = Number(z);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

function isList(v: ThriftValue): v is ThriftList {
  return typeof v === 'object' && !(v instanceof Uint8Array) && 'items' in v;
}

function isMap(v: ThriftValue): v is ThriftMap {
  return typeof v === 'object' && !(v instanceof Uint8Array) && 'entries' in v;
}

function isStruct(v: ThriftValue): v is ThriftStruct {
  return typeof v === 'object' && !(v instanceof Uint8Array) && 'fields' in v;
}

function internal(why: string): ModelError {
  return new ModelError('E_INTERNAL', `Thrift encoder: ${why}.`);
}

function mismatch(type: ThriftTypeCode, v: ThriftValue): ModelError {
  const what = typeof v === 'object' ? (v instanceof Uint8Array ? 'bytes' : 'object') : typeof v;
  return internal(`a value of type code ${type} cannot be ${what}`);
}

// ---- Struct access -----------------------------------------------------------------------------

/**
 * The field with the given id, if present.
 *
 * @param s - the struct
 * @param id - the field id
 * @returns the field or undefined
 */
export function getField(s: ThriftStruct, id: number): ThriftField | undefined {
  for (const f of s.fields) if (f.id === id) return f;
  return undefined;
}

/**
 * Sets a field, replacing one with the same id or inserting it before the first field with a
 * larger id (the order generated Thrift code writes fields in).
 *
 * @param s - the struct, modified in place
 * @param id - the field id
 * @param type - its type code
 * @param value - its value
 */
export function setField(
  s: ThriftStruct,
  id: number,
  type: ThriftTypeCode,
  value: ThriftValue
): void {
  const field: ThriftField = { id, type, value };
  const at = s.fields.findIndex((f) => f.id >= id);
  if (at < 0) s.fields.push(field);
  else if (s.fields[at]!.id === id) s.fields[at] = field;
  else s.fields.splice(at, 0, field);
}

/**
 * Removes the fields with the given ids.
 *
 * @param s - the struct, modified in place
 * @param ids - field ids
 */
export function deleteFields(s: ThriftStruct, ...ids: number[]): void {
  s.fields = s.fields.filter((f) => !ids.includes(f.id));
}

/** An i8/i16/i32 field's value, if present (and of a numeric type). */
export function getInt(s: ThriftStruct, id: number): number | undefined {
  const v = getField(s, id)?.value;
  return typeof v === 'number' ? v : undefined;
}

/** An i64 field's value as a number (exact below 2^53), if present. */
export function getI64(s: ThriftStruct, id: number): number | undefined {
  const v = getField(s, id)?.value;
  return typeof v === 'bigint' ? Number(v) : undefined;
}

/** A binary field's bytes decoded as UTF-8, if present. */
export function getString(s: ThriftStruct, id: number): string | undefined {
  const v = getField(s, id)?.value;
  return v instanceof Uint8Array ? utf8.decode(v) : undefined;
}

/** A struct-typed field's value, if present. */
export function getStruct(s: ThriftStruct, id: number): ThriftStruct | undefined {
  const v = getField(s, id)?.value;
  return v !== undefined && isStruct(v) ? v : undefined;
}

/** A list field's elements, if present. */
export function getList(s: ThriftStruct, id: number): ThriftValue[] | undefined {
  const v = getField(s, id)?.value;
  return v !== undefined && isList(v) ? v.items : undefined;
}

/** A list-of-structs field's elements (empty when absent or not structs). */
export function getStructList(s: ThriftStruct, id: number): ThriftStruct[] {
  return (getList(s, id) ?? []).filter(isStruct);
}

/** Shifts an i64 field by `delta` when present. */
export function shiftI64(s: ThriftStruct, id: number, delta: number): void {
  const f = getField(s, id);
  if (f !== undefined && typeof f.value === 'bigint') f.value += BigInt(delta);
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/**
 * A string as Thrift binary (UTF-8 bytes).
 *
 * @param s - the string
 * @returns its UTF-8 bytes
 */
export function thriftString(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}
