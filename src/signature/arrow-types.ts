/**
 * Mapping between MLflow value types and Apache Arrow data types.
 *
 * Arrow types are recognised by `typeId` (and `bitWidth`, `precision`, ... on their shape),
 * never with `instanceof`: a table built by another copy of `apache-arrow` (a user's bundle, a
 * worker's module graph) carries types from a different class hierarchy.
 *
 * @module
 */

import {
  Binary,
  Bool,
  Field,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  Map_,
  Precision,
  Struct,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Type,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
} from 'apache-arrow';
import type { DataType } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { describeValueType } from './schema.js';
import { sortProperties } from './schema-json.js';
import type { Property, ValueType } from './types.js';

/**
 * The canonical Arrow type for a value type; `null` for `any` (no fixed Arrow type).
 *
 * boolean→Bool, integer→Int32, long→Int64, float→Float32, double→Float64, string→Utf8,
 * binary→Binary, datetime→Timestamp(ms) (what a JS `Date` holds), array→List, object→Struct
 * (fields sorted by name, nullable), map→Map<Utf8, values>, sparkml_vector→List<Float64>.
 * A nested `any` (e.g. `array<any>`) has no Arrow form either, so the whole type maps to null.
 *
 * @param t - The value type.
 * @returns The Arrow type, or null when the type contains `any`.
 */
export function arrowTypeFor(t: ValueType): DataType | null {
  switch (t.type) {
    case 'boolean':
      return new Bool();
    case 'integer':
      return new Int32();
    case 'long':
      return new Int64();
    case 'float':
      return new Float32();
    case 'double':
      return new Float64();
    case 'string':
      return new Utf8();
    case 'binary':
      return new Binary();
    case 'datetime':
      return new TimestampMillisecond();
    case 'sparkml_vector':
      return new List(new Field('item', new Float64(), true));
    case 'any':
      return null;
    case 'array': {
      const items = arrowTypeFor(t.items);
      return items === null ? null : new List(new Field('item', items, true));
    }
    case 'object': {
      const fields: Field[] = [];
      for (const p of sortProperties(t.properties)) {
        const ft = arrowTypeFor(p.type);
        if (ft === null) return null;
        fields.push(new Field(p.name, ft, true));
      }
      return new Struct(fields);
    }
    case 'map': {
      const values = arrowTypeFor(t.values);
      if (values === null) return null;
      const entries = new Struct([
        new Field('key', new Utf8(), false),
        new Field('value', values, true),
      ]);
      return new Map_(new Field('entries', entries, false), false);
    }
  }
}

/** The parts of an Arrow type read here, by shape rather than class. */
interface TypeShape {
  typeId: Type;
  bitWidth?: number;
  isSigned?: boolean;
  precision?: Precision;
  dictionary?: TypeShape;
  children?: { name: string; type: TypeShape; nullable: boolean }[];
  toString(): string;
}

/**
 * An Arrow type's name for messages: Arrow's own type string (`Utf8`, `List<Int32>`,
 * `Timestamp<MICROSECOND, UTC>`), except decimals, which Arrow prints as `Decimal[10e+2]` and
 * this writes as SQL and Spark do, `decimal(10,2)` (precision, scale), nested types included
 * (`List<decimal(10,2)>`).
 *
 * @param type - The Arrow type (from any copy of apache-arrow).
 * @returns The name.
 */
export function arrowTypeName(type: DataType): string {
  return nameOf(type as unknown as TypeShape);
}

function nameOf(t: TypeShape): string {
  const child = (i: number): string => {
    const f = t.children?.[i];
    return f === undefined ? '?' : nameOf(f.type);
  };
  const fields = (list: TypeShape['children']): string =>
    (list ?? []).map((f) => `${f.name}:${nameOf(f.type)}`).join(', ');
  switch (t.typeId) {
    case Type.Decimal: {
      const d = t as unknown as { precision: number; scale: number };
      return `decimal(${d.precision},${d.scale})`;
    }
    case Type.List:
      return `List<${child(0)}>`;
    case Type.LargeList:
      return `LargeList<${child(0)}>`;
    case Type.FixedSizeList:
      return `FixedSizeList[${(t as unknown as { listSize: number }).listSize}]<${child(0)}>`;
    case Type.Struct:
      return `Struct<{${fields(t.children)}}>`;
    case Type.Map:
      return `Map<{${fields(t.children?.[0]?.type.children)}}>`;
    case Type.Dictionary: {
      const d = t as unknown as { indices: TypeShape; dictionary: TypeShape };
      return `Dictionary<${nameOf(d.indices)}, ${nameOf(d.dictionary)}>`;
    }
    default:
      return String(t);
  }
}

function unsupported(type: TypeShape, why = ''): ModelError {
  const name = nameOf(type);
  return new ModelError(
    'E_SIGNATURE_INVALID',
    `Arrow type ${name} has no MLflow equivalent${why}`,
    { details: { arrowType: name } }
  );
}

/**
 * The MLflow value type of an Arrow type, following MLflow's inference table
 * (`_infer_numpy_dtype` / `_infer_spark_type`): Int8/16/32 and Uint8/16 → integer; Int64 and
 * Uint32 → long; Uint64 → long too (MLflow rejects uint64; a JS model reads it as bigint like
 * Int64); Float16/32 → float; Float64 → double; Decimal → double; Utf8/LargeUtf8/Utf8View →
 * string; Binary/LargeBinary/BinaryView/FixedSizeBinary → binary; Timestamp (any unit) / Date →
 * datetime; List/LargeList/FixedSizeList → array; Struct → object (properties sorted, required);
 * Map → map (string keys only); Dictionary → its value type; Null → any.
 *
 * @param type - The Arrow type (from any copy of apache-arrow).
 * @returns The value type.
 * @throws {ModelError} E_SIGNATURE_INVALID for types with no MLflow equivalent (Time, Interval,
 *   Duration, Union) and maps with non-string keys.
 */
export function valueTypeFor(type: DataType): ValueType {
  return fromShape(type as unknown as TypeShape);
}

function fromShape(t: TypeShape): ValueType {
  switch (t.typeId) {
    case Type.Null:
      return { type: 'any' };
    case Type.Bool:
      return { type: 'boolean' };
    case Type.Int: {
      // numpy rules: int8/16/32 and uint8/16 fit int32; int64 and uint32 need int64.
      const bits = t.bitWidth ?? 32;
      const fitsInt32 = t.isSigned === false ? bits <= 16 : bits <= 32;
      return fitsInt32 ? { type: 'integer' } : { type: 'long' };
    }
    case Type.Float:
      return t.precision === Precision.DOUBLE ? { type: 'double' } : { type: 'float' };
    case Type.Decimal:
      return { type: 'double' };
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Utf8View:
      return { type: 'string' };
    case Type.Binary:
    case Type.LargeBinary:
    case Type.BinaryView:
    case Type.FixedSizeBinary:
      return { type: 'binary' };
    case Type.Timestamp:
    case Type.Date:
      return { type: 'datetime' };
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const child = t.children?.[0];
      if (child === undefined) throw unsupported(t, ' (list without a child field)');
      return { type: 'array', items: fromShape(child.type) };
    }
    case Type.Struct: {
      const children = t.children ?? [];
      if (children.length === 0)
        throw unsupported(t, ' (a struct without fields maps to an empty object)');
      const properties: Property[] = children.map((f) => ({
        name: f.name,
        type: fromShape(f.type),
        required: true,
      }));
      return { type: 'object', properties: sortProperties(properties) };
    }
    case Type.Map: {
      const entries = t.children?.[0]?.type.children;
      const key = entries?.[0];
      const value = entries?.[1];
      if (key === undefined || value === undefined)
        throw unsupported(t, ' (map without key/value fields)');
      const keyType = fromShape(key.type);
      if (keyType.type !== 'string') {
        throw unsupported(
          t,
          ` (MLflow map keys must be strings, found ${describeValueType(keyType)})`
        );
      }
      return { type: 'map', values: fromShape(value.type) };
    }
    case Type.Dictionary:
      if (t.dictionary === undefined) throw unsupported(t);
      return fromShape(t.dictionary);
    default:
      throw unsupported(t);
  }
}

/**
 * The Arrow type for a numpy dtype name used in a TensorSpec: bool, (u)int8..64, float16/32/64,
 * str→Utf8, bytes→Binary, datetime64[unit]→Timestamp of that unit (s/ms/us/ns; coarser units
 * map to seconds).
 *
 * @param dtype - The numpy dtype name (as written in the TensorSpec).
 * @returns The Arrow element type, or null for dtypes with no Arrow equivalent (`object`,
 *   complex, timedelta).
 */
export function arrowTypeForTensorDtype(dtype: string): DataType | null {
  switch (dtype) {
    case 'bool':
      return new Bool();
    case 'int8':
      return new Int8();
    case 'int16':
      return new Int16();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'uint8':
      return new Uint8();
    case 'uint16':
      return new Uint16();
    case 'uint32':
      return new Uint32();
    case 'uint64':
      return new Uint64();
    case 'float16':
      return new Float16();
    case 'float32':
      return new Float32();
    case 'float64':
      return new Float64();
    case 'str':
      return new Utf8();
    case 'bytes':
      return new Binary();
  }
  const m = /^datetime64(?:\[(\w+)\])?$/.exec(dtype);
  if (m !== null) {
    switch (m[1]) {
      case 'ms':
        return new TimestampMillisecond();
      case 'us':
        return new TimestampMicrosecond();
      case 'ns':
      case undefined:
        return new TimestampNanosecond();
      default:
        return new TimestampSecond();
    }
  }
  return null;
}
