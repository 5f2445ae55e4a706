/**
 * Converting Arrow cell values to JSON-safe values, shared by the NDJSON and CSV writers and by
 * `formatPredictions`: bigint -> number (or string when unsafe, writer's choice), binary ->
 * base64, timestamps/dates -> ISO text, lists -> arrays, structs and maps -> objects.
 *
 * @module
 */
import { type DataType, Type } from 'apache-arrow';

/** How to render int64 values that do not fit a double exactly. */
export type BigintMode = 'string' | 'number';

/** What a {@link LeafFormat} returns for a cell it leaves to {@link jsonValue}'s own rules. */
export const kDefaultFormat: unique symbol = Symbol('jsfunc.defaultFormat');

/**
 * A writer's own rendering of some leaf types (e.g. MLflow's `isoformat()` timestamps), applied
 * at every nesting level; {@link kDefaultFormat} for the cells it does not render.
 */
export type LeafFormat = (value: unknown, type: DataType) => unknown;

/**
 * Converts one value read with `vector.get(i)` to a JSON-safe value.
 *
 * @param value - the Arrow value
 * @param type - the Arrow type of the value
 * @param bigints - `string` (default) renders unsafe int64 values as decimal text, `number`
 *   renders them as a (possibly rounded) number
 * @param leaf - a writer's own rendering of some leaf types, consulted first at every level
 * @returns a value JSON.stringify can write (NaN and infinities become null)
 */
export function jsonValue(
  value: unknown,
  type: DataType,
  bigints: BigintMode = 'string',
  leaf?: LeafFormat
): unknown {
  if (value === null || value === undefined) return null;
  if (leaf !== undefined) {
    const own = leaf(value, type);
    if (own !== kDefaultFormat) return own;
  }
  switch (type.typeId) {
    case Type.Int:
    case Type.Decimal:
      if (typeof value === 'bigint') {
        return Number.isSafeInteger(Number(value)) || bigints === 'number'
          ? Number(value)
          : value.toString();
      }
      return value;
    case Type.Float:
      return Number.isFinite(value) ? value : null;
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return Buffer.from(value as Uint8Array).toString('base64');
    case Type.Timestamp: {
      // A zone-less timestamp is naive (like Python's isoformat()); a zoned one keeps its Z.
      const iso = new Date(Number(value)).toISOString();
      return (type as unknown as { timezone?: string | null }).timezone ? iso : iso.slice(0, -1);
    }
    case Type.Date:
      return new Date(value instanceof Date ? value.getTime() : Number(value))
        .toISOString()
        .slice(0, 10);
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const child = type.children[0]?.type as DataType;
      return [...(value as Iterable<unknown>)].map((v) => jsonValue(v, child, bigints, leaf));
    }
    case Type.Struct: {
      const out: Record<string, unknown> = {};
      const row = value as Record<string, unknown>;
      for (const f of type.children) out[f.name] = jsonValue(row[f.name], f.type, bigints, leaf);
      return out;
    }
    case Type.Map: {
      const valueType = (type.children[0]?.type as DataType).children[1]?.type as DataType;
      const out: Record<string, unknown> = {};
      const entries =
        typeof (value as { entries?: unknown }).entries === 'function'
          ? (value as Map<unknown, unknown>).entries()
          : Object.entries(value as object);
      for (const [k, v] of entries) out[String(k)] = jsonValue(v, valueType, bigints, leaf);
      return out;
    }
    case Type.Dictionary:
      return jsonValue(
        value,
        (type as unknown as { dictionary: DataType }).dictionary,
        bigints,
        leaf
      );
    default:
      if (typeof value === 'bigint')
        return jsonValue(value, { typeId: Type.Int } as DataType, bigints);
      if (value instanceof Date) return value.toISOString();
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      return value;
  }
}
