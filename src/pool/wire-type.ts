/**
 * The serializable description of Arrow `DataType`s and `Field`s ({@link WireType},
 * {@link WireField}) and its codec: {@link encodeDataType} (from either apache-arrow module copy)
 * and {@link decodeDataType} (to the copy this module imports).
 *
 * @module
 */
import {
  Binary,
  Bool,
  Date_,
  Decimal,
  Dictionary,
  Duration,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float,
  Int,
  Interval,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  Null,
  Struct,
  Time,
  Timestamp,
  Utf8,
} from 'apache-arrow';
import type { DataType } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { T, TYPE_NAMES, type FieldLike, type TypeLike } from './arrow-like.js';

/** Key/value metadata of a field or schema, as ordered pairs (structured-clone friendly). */
export type WireMetadata = [key: string, value: string][];

/** Time units, named (Arrow's `TimeUnit`). */
export type WireTimeUnit = 'second' | 'millisecond' | 'microsecond' | 'nanosecond';

/**
 * A serializable Arrow `DataType`: a `kind` tag (one per Arrow type id) plus its parameters.
 * Nested types carry their child {@link WireField}s.
 */
export type WireType =
  | { kind: 'null' }
  | { kind: 'bool' }
  | { kind: 'int'; bitWidth: 8 | 16 | 32 | 64; signed: boolean }
  | { kind: 'float'; bitWidth: 16 | 32 | 64 }
  | { kind: 'utf8' }
  | { kind: 'large-utf8' }
  | { kind: 'binary' }
  | { kind: 'large-binary' }
  | { kind: 'fixed-size-binary'; byteWidth: number }
  | { kind: 'date'; unit: 'day' | 'millisecond' }
  | { kind: 'time'; unit: WireTimeUnit; bitWidth: 32 | 64 }
  | { kind: 'timestamp'; unit: WireTimeUnit; timezone?: string | null }
  | { kind: 'duration'; unit: WireTimeUnit }
  | { kind: 'interval'; unit: 'year-month' | 'day-time' | 'month-day-nano' }
  | { kind: 'decimal'; precision: number; scale: number; bitWidth: number }
  | { kind: 'list'; child: WireField }
  | { kind: 'large-list'; child: WireField }
  | { kind: 'fixed-size-list'; listSize: number; child: WireField }
  | { kind: 'struct'; children: WireField[] }
  | { kind: 'map'; entries: WireField; keysSorted: boolean }
  | {
      kind: 'dictionary';
      id: number;
      indices: { bitWidth: 8 | 16 | 32 | 64; signed: boolean };
      value: WireType;
      ordered: boolean;
    };

/** A serializable Arrow `Field`. */
export interface WireField {
  name: string;
  nullable: boolean;
  metadata: WireMetadata;
  type: WireType;
}

const TIME_UNITS: readonly WireTimeUnit[] = ['second', 'millisecond', 'microsecond', 'nanosecond'];
const INTERVAL_UNITS = ['year-month', 'day-time', 'month-day-nano'] as const;

/**
 * Describes an Arrow `DataType` (from either apache-arrow module copy) as a {@link WireType}.
 *
 * @param type - the Arrow type.
 * @param column - column path used in error messages. Default `"?"`.
 * @returns the serializable description.
 * @throws {ModelError} E_INPUT_INVALID for types that cannot cross (Union, Utf8View,
 *   BinaryView), naming the column and the type.
 */
export function encodeDataType(type: DataType, column = '?'): WireType {
  return encodeType(type as unknown as TypeLike, column);
}

/** {@link encodeDataType} over a structural type; `column` names it in errors. */
export function encodeType(type: TypeLike, column: string): WireType {
  const p = type as Record<string, unknown>;
  switch (type.typeId) {
    case T.Null:
      return { kind: 'null' };
    case T.Bool:
      return { kind: 'bool' };
    case T.Int:
      return { kind: 'int', bitWidth: p['bitWidth'] as 8, signed: p['isSigned'] as boolean };
    case T.Float:
      return { kind: 'float', bitWidth: ([16, 32, 64] as const)[p['precision'] as number] ?? 64 };
    case T.Utf8:
      return { kind: 'utf8' };
    case T.LargeUtf8:
      return { kind: 'large-utf8' };
    case T.Binary:
      return { kind: 'binary' };
    case T.LargeBinary:
      return { kind: 'large-binary' };
    case T.FixedSizeBinary:
      return { kind: 'fixed-size-binary', byteWidth: p['byteWidth'] as number };
    case T.Date:
      return { kind: 'date', unit: p['unit'] === 0 ? 'day' : 'millisecond' };
    case T.Time:
      return { kind: 'time', unit: timeUnit(p['unit']), bitWidth: p['bitWidth'] === 64 ? 64 : 32 };
    case T.Timestamp: {
      // `undefined` and `null` time zones compare unequal in Arrow JS: keep which one it was.
      const timezone = p['timezone'] as string | null | undefined;
      return timezone === undefined
        ? { kind: 'timestamp', unit: timeUnit(p['unit']) }
        : { kind: 'timestamp', unit: timeUnit(p['unit']), timezone };
    }
    case T.Duration:
      return { kind: 'duration', unit: timeUnit(p['unit']) };
    case T.Interval:
      return { kind: 'interval', unit: INTERVAL_UNITS[p['unit'] as number] ?? 'day-time' };
    case T.Decimal:
      return {
        kind: 'decimal',
        precision: p['precision'] as number,
        scale: p['scale'] as number,
        bitWidth: (p['bitWidth'] as number | undefined) ?? 128,
      };
    case T.List:
      return { kind: 'list', child: encodeField(childField(type, 0, column), `${column}[]`) };
    case T.LargeList:
      return { kind: 'large-list', child: encodeField(childField(type, 0, column), `${column}[]`) };
    case T.FixedSizeList:
      return {
        kind: 'fixed-size-list',
        listSize: p['listSize'] as number,
        child: encodeField(childField(type, 0, column), `${column}[]`),
      };
    case T.Struct:
      return {
        kind: 'struct',
        children: (type.children ?? []).map((f) => encodeField(f, `${column}.${f.name}`)),
      };
    case T.Map:
      return {
        kind: 'map',
        entries: encodeField(childField(type, 0, column), `${column}{}`),
        keysSorted: Boolean(p['keysSorted']),
      };
    case T.Dictionary: {
      const indices = p['indices'] as TypeLike & { bitWidth: 8; isSigned: boolean };
      return {
        kind: 'dictionary',
        id: Number(p['id']),
        indices: { bitWidth: indices.bitWidth, signed: indices.isSigned },
        value: encodeType(p['dictionary'] as TypeLike, column),
        ordered: Boolean(p['isOrdered']),
      };
    }
    default:
      throw new ModelError(
        'E_INPUT_INVALID',
        `Column "${column}": Arrow type ${String(type)} (typeId ${type.typeId}${TYPE_NAMES[type.typeId] ? `, ${TYPE_NAMES[type.typeId]}` : ''}) cannot be sent to a worker thread; supported: Null, Bool, Int, Float, Utf8, LargeUtf8, Binary, LargeBinary, FixedSizeBinary, Date, Time, Timestamp, Duration, Interval, Decimal, List, LargeList, FixedSizeList, Struct, Map, Dictionary`,
        { details: { column, typeId: type.typeId, type: String(type) } }
      );
  }
}

function timeUnit(unit: unknown): WireTimeUnit {
  return TIME_UNITS[unit as number] ?? 'millisecond';
}

/**
 * Child field `index` of a nested type.
 *
 * @throws {ModelError} E_INPUT_INVALID when the type has no such child, naming the column.
 */
export function childField(type: TypeLike, index: number, column: string): FieldLike {
  const child = type.children?.[index];
  if (child === undefined) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `Column "${column}": Arrow type ${String(type)} has no child field ${index}`,
      {
        details: { column },
      }
    );
  }
  return child;
}

/** Describes an Arrow `Field` (name, nullability, metadata, type) as a {@link WireField}. */
export function encodeField(field: FieldLike, column: string): WireField {
  return {
    name: field.name,
    nullable: field.nullable,
    metadata: [...(field.metadata ?? new Map<string, string>())],
    type: encodeType(field.type, column),
  };
}

/**
 * Rebuilds an Arrow `DataType` (of the apache-arrow copy this module imports) from a
 * {@link WireType}.
 *
 * @param wire - the description made by {@link encodeDataType}.
 * @returns the Arrow type.
 * @throws {ModelError} E_INPUT_INVALID when `wire.kind` is unknown.
 */
export function decodeDataType(wire: WireType): DataType {
  switch (wire.kind) {
    case 'null':
      return new Null();
    case 'bool':
      return new Bool();
    case 'int':
      return new Int(wire.signed, wire.bitWidth);
    case 'float':
      return new Float(wire.bitWidth === 16 ? 0 : wire.bitWidth === 32 ? 1 : 2);
    case 'utf8':
      return new Utf8();
    case 'large-utf8':
      return new LargeUtf8();
    case 'binary':
      return new Binary();
    case 'large-binary':
      return new LargeBinary();
    case 'fixed-size-binary':
      return new FixedSizeBinary(wire.byteWidth);
    case 'date':
      return new Date_(wire.unit === 'day' ? 0 : 1);
    case 'time':
      return new Time(TIME_UNITS.indexOf(wire.unit), wire.bitWidth);
    case 'timestamp':
      return new Timestamp(TIME_UNITS.indexOf(wire.unit), wire.timezone);
    case 'duration':
      return new Duration(TIME_UNITS.indexOf(wire.unit));
    case 'interval':
      return new Interval(INTERVAL_UNITS.indexOf(wire.unit));
    case 'decimal':
      return new Decimal(wire.scale, wire.precision, wire.bitWidth);
    case 'list':
      return new List(decodeField(wire.child));
    case 'large-list':
      return new LargeList(decodeField(wire.child));
    case 'fixed-size-list':
      return new FixedSizeList(wire.listSize, decodeField(wire.child));
    case 'struct':
      return new Struct(wire.children.map(decodeField));
    case 'map':
      return new Map_(decodeField(wire.entries) as Field<Struct>, wire.keysSorted);
    case 'dictionary':
      return new Dictionary(
        decodeDataType(wire.value),
        new Int(wire.indices.signed, wire.indices.bitWidth) as never,
        wire.id,
        wire.ordered
      );
    default:
      throw new ModelError(
        'E_INPUT_INVALID',
        `Unknown wire type kind ${JSON.stringify((wire as { kind: unknown }).kind)}`
      );
  }
}

/** Rebuilds an Arrow `Field` from a {@link WireField}. */
export function decodeField(wire: WireField): Field {
  return new Field(wire.name, decodeDataType(wire.type), wire.nullable, new Map(wire.metadata));
}
