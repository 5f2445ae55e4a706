/**
 * Recognising Arrow objects by shape, and adopting objects built by another copy of
 * `apache-arrow` into ours.
 *
 * Why not `instanceof`: a user model, a reader library or a test may load its own copy of
 * `apache-arrow` (a second version in node_modules, or the CJS and ESM builds of the same
 * version side by side). Their `Table` is not our `Table`, yet it holds the same buffers.
 * apache-arrow >= 21.2 brands its objects with `Symbol.for` markers; older copies do not, so
 * the guards here also accept the documented shape (`typeId`, `schema`, `batches`, ...).
 *
 * Adoption is zero-copy: the foreign `Data` buffers are wrapped in our `Data` with an
 * equivalent type rebuilt from its `typeId` and parameters.
 *
 * @module
 */
import {
  Binary,
  Bool,
  Data,
  DataType,
  DateDay,
  DateMillisecond,
  Decimal,
  DenseUnion,
  Dictionary,
  Duration,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int,
  Int8,
  Int16,
  Int32,
  Int64,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  TimestampSecond,
  TimestampMillisecond,
  TimestampMicrosecond,
  TimestampNanosecond,
  Interval,
  LargeBinary,
  LargeUtf8,
  List,
  Map_,
  Null,
  RecordBatch,
  Schema,
  SparseUnion,
  Struct,
  Table,
  Time,
  Timestamp,
  Type,
  Utf8,
  Vector,
  isArrowDataType,
  isArrowRecordBatch,
  isArrowTable,
  isArrowVector,
} from 'apache-arrow';
import { ModelError } from '../errors.js';

type Obj = Record<string, unknown>;

/**
 * True when `x` was built by *our* copy of apache-arrow. apache-arrow >= 21.2 overrides
 * `Symbol.hasInstance` on Table, RecordBatch, Data, Schema and Field so that `instanceof` also
 * accepts other copies; the plain prototype check tells them apart.
 */
function isOwn(ctor: abstract new (...args: never[]) => unknown, x: unknown): boolean {
  return (Function.prototype[Symbol.hasInstance] as (this: unknown, v: unknown) => boolean).call(
    ctor,
    x
  );
}

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null;
}

/**
 * True for an Arrow `DataType` from any copy of apache-arrow (branded, or any object with a
 * numeric `typeId` and a `toString`).
 * @param x - any value
 * @returns whether `x` looks like an Arrow DataType
 */
export function isArrowType(x: unknown): x is DataType {
  if (isArrowDataType(x)) return true;
  return isObj(x) && typeof x['typeId'] === 'number' && !('length' in x) && !('schema' in x);
}

/**
 * True for an Arrow `Vector` from any copy of apache-arrow: a `type` with a `typeId`, a `data`
 * array of chunks and a numeric `length`.
 * @param x - any value
 * @returns whether `x` looks like an Arrow Vector
 */
export function isArrowVectorLike(x: unknown): x is Vector {
  if (isArrowVector(x)) return true;
  return (
    isObj(x) &&
    isArrowType(x['type']) &&
    Array.isArray(x['data']) &&
    typeof x['length'] === 'number'
  );
}

function isSchemaLike(x: unknown): boolean {
  return isObj(x) && Array.isArray(x['fields']);
}

/**
 * True for an Arrow `Table` from any copy of apache-arrow: a `schema` with `fields` and a
 * `batches` array.
 * @param x - any value
 * @returns whether `x` looks like an Arrow Table
 */
export function isArrowTableLike(x: unknown): x is Table {
  if (isArrowTable(x)) return true;
  return isObj(x) && isSchemaLike(x['schema']) && Array.isArray(x['batches']);
}

/**
 * True for an Arrow `RecordBatch` from any copy of apache-arrow: a `schema` with `fields`, a
 * struct `data` and a numeric `numRows`, but no `batches`.
 * @param x - any value
 * @returns whether `x` looks like an Arrow RecordBatch
 */
export function isArrowRecordBatchLike(x: unknown): x is RecordBatch {
  if (isArrowRecordBatch(x)) return true;
  return (
    isObj(x) &&
    isSchemaLike(x['schema']) &&
    !('batches' in x) &&
    isObj(x['data']) &&
    typeof x['numRows'] === 'number'
  );
}

/**
 * Rebuilds a field (from any Arrow copy) with our Arrow classes.
 * @param f - a field-shaped object (`name`, `type`, `nullable`, `metadata`)
 * @returns our `Field`, sharing nothing mutable with `f`
 * @throws {ModelError} E_INPUT_INVALID when the field's type is not supported
 */
export function adoptField(f: Field): Field {
  if (isOwn(Field, f)) return f;
  return new Field(f.name, adoptType(f.type), f.nullable, f.metadata ? new Map(f.metadata) : null);
}

/**
 * Rebuilds a data type from any Arrow copy with our Arrow classes, by its `typeId` and
 * parameters. Our own types are returned as they are.
 * @param t - a DataType-shaped object
 * @returns an equivalent DataType of our copy
 * @throws {ModelError} E_INPUT_INVALID when the type id is not supported
 */
export function adoptType(t: DataType): DataType {
  if (isOwn(DataType, t)) return t;
  // The foreign type's parameters are read by name; they are stable across arrow-js versions.
  const p = t as unknown as Obj;
  const children = (): Field[] => ((p['children'] as Field[] | undefined) ?? []).map(adoptField);
  const child = (): Field => adoptField((p['children'] as Field[])[0]!);
  switch (t.typeId) {
    case Type.Null:
      return new Null();
    case Type.Int: {
      // Our specific subclasses (Int32, ...), so `instanceof Int32` holds after adoption.
      const signed = p['isSigned'] as boolean;
      const ctors = signed ? [Int8, Int16, Int32, Int64] : [Uint8, Uint16, Uint32, Uint64];
      const ctor = ctors[[8, 16, 32, 64].indexOf(p['bitWidth'] as number)];
      return ctor ? new ctor() : new Int(signed, p['bitWidth'] as 8 | 16 | 32 | 64);
    }
    case Type.Float:
      return new ([Float16, Float32, Float64][p['precision'] as number] ?? Float64)();
    case Type.Binary:
      return new Binary();
    case Type.LargeBinary:
      return new LargeBinary();
    case Type.Utf8:
      return new Utf8();
    case Type.LargeUtf8:
      return new LargeUtf8();
    case Type.Bool:
      return new Bool();
    case Type.Decimal:
      return new Decimal(p['scale'] as number, p['precision'] as number, p['bitWidth'] as number);
    case Type.Date:
      return p['unit'] === 0 ? new DateDay() : new DateMillisecond();
    case Type.Time:
      return new Time(p['unit'] as number, p['bitWidth'] as 32 | 64);
    case Type.Timestamp: {
      const ctor = [
        TimestampSecond,
        TimestampMillisecond,
        TimestampMicrosecond,
        TimestampNanosecond,
      ][p['unit'] as number];
      const tz = (p['timezone'] as string | null) ?? null;
      return ctor ? new ctor(tz) : new Timestamp(p['unit'] as number, tz);
    }
    case Type.Interval:
      return new Interval(p['unit'] as number);
    case Type.Duration:
      return new Duration(p['unit'] as number);
    case Type.List:
      return new List(child());
    case Type.Struct:
      return new Struct(children());
    case Type.Union:
      return p['mode'] === 0
        ? new SparseUnion(Array.from(p['typeIds'] as ArrayLike<number>), children())
        : new DenseUnion(Array.from(p['typeIds'] as ArrayLike<number>), children());
    case Type.FixedSizeBinary:
      return new FixedSizeBinary(p['byteWidth'] as number);
    case Type.FixedSizeList:
      return new FixedSizeList(p['listSize'] as number, child());
    case Type.Map:
      return new Map_(child() as Field<Struct>, p['keysSorted'] as boolean);
    case Type.Dictionary:
      return new Dictionary(
        adoptType(p['dictionary'] as DataType),
        adoptType(p['indices'] as DataType) as never,
        p['id'] as number,
        p['isOrdered'] as boolean
      );
    default:
      throw new ModelError(
        'E_INPUT_INVALID',
        `Cannot adopt Arrow type ${String(t)} (typeId ${String(t.typeId)}) from another apache-arrow copy.`,
        { details: { typeId: t.typeId } }
      );
  }
}

/**
 * Wraps the buffers of a `Data` chunk from any Arrow copy in our `Data`, without copying.
 * @param d - a Data-shaped chunk
 * @returns our Data over the same buffers
 * @throws {ModelError} E_INPUT_INVALID for unsupported types
 */
export function adoptData(d: Data): Data {
  if (isOwn(Data, d)) return d;
  const type = adoptType(d.type);
  const dictionary = d.dictionary === undefined ? undefined : adoptVector(d.dictionary);
  return new Data(
    type,
    d.offset,
    d.length,
    d.nullCount,
    [d.valueOffsets, d.values, d.nullBitmap, d.typeIds] as never,
    (d.children ?? []).map(adoptData),
    dictionary
  );
}

/**
 * Rebuilds a vector from any Arrow copy with our classes (zero-copy); ours is returned as is.
 * @param v - a Vector-shaped object
 * @returns our Vector
 * @throws {ModelError} E_INPUT_INVALID for unsupported types
 */
export function adoptVector(v: Vector): Vector {
  if (isOwn(Vector, v)) return v;
  return new Vector(v.data.map(adoptData));
}

/**
 * Rebuilds a record batch from any Arrow copy with our classes (zero-copy).
 * @param b - a RecordBatch-shaped object
 * @returns our RecordBatch
 * @throws {ModelError} E_INPUT_INVALID for unsupported types
 */
export function adoptRecordBatch(b: RecordBatch): RecordBatch {
  if (isOwn(RecordBatch, b)) return b;
  const schema = new Schema(b.schema.fields.map(adoptField), b.schema.metadata);
  return new RecordBatch(schema, adoptData(b.data) as Data<Struct>);
}

/**
 * Rebuilds a table from any Arrow copy with our classes (zero-copy); ours is returned as is.
 * @param t - a Table-shaped object
 * @returns our Table with the same schema and batches
 * @throws {ModelError} E_INPUT_INVALID for unsupported types
 */
export function adoptTable(t: Table): Table {
  if (isOwn(Table, t)) return t;
  const schema = new Schema(t.schema.fields.map(adoptField), t.schema.metadata);
  return new Table(
    schema,
    t.batches.map((b) => new RecordBatch(schema, adoptData(b.data) as Data<Struct>))
  );
}
