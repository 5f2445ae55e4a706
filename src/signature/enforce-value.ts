/**
 * Enforcement of one column chunk against an MLflow value type: arrays, objects and maps
 * recursively (MLflow's `_enforce_type`), primitives through {@link enforcePrimitive}.
 *
 * @module
 */
import { DataType, Field, List, Map_, Struct, Type, makeData } from 'apache-arrow';
import type { Data, FixedSizeList } from 'apache-arrow';
import { enforcePrimitive } from './enforce-primitive.js';
import { describeValueType } from './schema.js';
import { incompatible, nestedMismatch, pySet, valid } from './schema-mismatch.js';
import type { Where } from './schema-mismatch.js';
import type { ValueType } from './types.js';

/**
 * Enforces one chunk against a value type. Returns the chunk itself when it already conforms.
 * `top` marks a top-level column (where nulls are allowed, as MLflow allows NaN/None in
 * columns); nested values follow MLflow's `_enforce_type` (`required` values may not be null).
 *
 * @param data - the chunk.
 * @param type - the value type it must conform to.
 * @param w - where the chunk sits, for messages.
 * @param required - whether nested values may be null.
 * @param top - whether the chunk is a whole top-level column.
 * @returns the conforming chunk (the same object when nothing had to change).
 * @throws {ModelError} E_SCHEMA_MISMATCH when the chunk cannot be safely converted.
 */
export function enforceValue(
  data: Data,
  type: ValueType,
  w: Where,
  required: boolean,
  top: boolean
): Data {
  switch (type.type) {
    case 'any':
    case 'sparkml_vector':
      return data;
    case 'array':
      return enforceArray(data, type.items, w, required);
    case 'object':
      return enforceObject(data, type.properties, w, required);
    case 'map':
      return enforceMap(data, type.values, w, required);
    default:
      if (!top && required && data.type.typeId !== Type.Null) checkNoNulls(data, w, type.type);
      return enforcePrimitive(data, type.type, w);
  }
}

function checkNoNulls(data: Data, w: Where, expected: string): void {
  if (data.nullCount === 0) return;
  for (let i = 0; i < data.length; i++) {
    if (!valid(data, i)) {
      throw nestedMismatch(w, `Expected data to be ${expected}, got null (row ${i}).`);
    }
  }
}

function enforceArray(data: Data, items: ValueType, w: Where, required: boolean): Data {
  const t = data.type;
  if (!DataType.isList(t) && !DataType.isFixedSizeList(t)) {
    throw incompatible(w, t, describeValueType({ type: 'array', items }));
  }
  if (required && items.type !== 'any') checkNoNulls(data, w, 'list');
  const itemWhere = { column: w.column, path: [...w.path, '[]'] };
  if (DataType.isList(t)) {
    const child = data.children[0]!;
    const next = enforceValue(child, items, itemWhere, required, false);
    if (next === child) return data;
    return data.clone(
      new List(new Field(t.children[0]!.name, next.type, true)),
      data.offset,
      data.length,
      data.nullCount,
      undefined,
      [next]
    );
  }
  // FixedSizeList -> List: offsets are i * size over the (already row-relative) child.
  const size = (t as FixedSizeList).listSize;
  const child = data.children[0]!;
  const next = enforceValue(child, items, itemWhere, required, false);
  const offsets = new Int32Array(data.length + 1);
  for (let i = 0; i <= data.length; i++) offsets[i] = i * size;
  return makeData({
    type: new List(new Field('item', next.type, true)),
    offset: data.offset,
    length: data.length,
    nullCount: data.nullCount,
    nullBitmap: data.nullBitmap,
    valueOffsets: offsets,
    child: next,
  });
}

function enforceObject(
  data: Data,
  properties: readonly { name: string; type: ValueType; required: boolean }[],
  w: Where,
  required: boolean
): Data {
  const t = data.type;
  if (!DataType.isStruct(t)) {
    throw incompatible(w, t, describeValueType({ type: 'object', properties: [...properties] }));
  }
  if (required) checkNoNulls(data, w, 'dictionary');
  const fieldNames = t.children.map((f) => f.name);
  const missing = properties
    .filter((p) => p.required && !fieldNames.includes(p.name))
    .map((p) => p.name);
  if (missing.length > 0) throw nestedMismatch(w, `Missing required properties: ${pySet(missing)}`);
  const invalid = fieldNames.filter((n) => !properties.some((p) => p.name === n));
  if (invalid.length > 0) {
    throw nestedMismatch(
      w,
      `Invalid properties not defined in the schema found: ${pySet(invalid)}`
    );
  }
  let changed = false;
  const fields: Field[] = [];
  const children: Data[] = [];
  let order = 0;
  for (const prop of properties) {
    const index = fieldNames.indexOf(prop.name);
    if (index < 0) continue;
    const child = data.children[index]!;
    const propWhere = { column: w.column, path: [...w.path, `.${prop.name}`] };
    // Only rows where the parent object is present carry the property.
    const next = enforceValue(child, prop.type, propWhere, false, false);
    if (prop.required && child.nullCount > 0) {
      for (let i = 0; i < data.length; i++) {
        if (valid(data, i) && !valid(child, i)) {
          throw nestedMismatch(
            w,
            `Failed to enforce schema for key \`${prop.name}\`. Expected type ${describeValueType(prop.type)}, received null (row ${i}).`
          );
        }
      }
    }
    if (next !== child || index !== order) changed = true;
    order++;
    fields.push(new Field(prop.name, next.type, true));
    children.push(next);
  }
  if (!changed) return data;
  return data.clone(
    new Struct(fields),
    data.offset,
    data.length,
    data.nullCount,
    undefined,
    children
  );
}

function enforceMap(data: Data, values: ValueType, w: Where, required: boolean): Data {
  const t = data.type;
  if (!DataType.isMap(t)) throw incompatible(w, t, describeValueType({ type: 'map', values }));
  if (required && values.type !== 'any') checkNoNulls(data, w, 'dict');
  const entries = data.children[0]!;
  const keys = entries.children[0]!;
  if (!DataType.isUtf8(keys.type) && !DataType.isLargeUtf8(keys.type)) {
    throw nestedMismatch(w, 'Expected all keys in the map type data are string type.');
  }
  const vals = entries.children[1]!;
  const next = enforceValue(
    vals,
    values,
    { column: w.column, path: [...w.path, '{}'] },
    required,
    false
  );
  if (next === vals) return data;
  const entryType = new Struct([
    new Field('key', keys.type, false),
    new Field('value', next.type, true),
  ]);
  const newEntries = entries.clone(
    entryType,
    entries.offset,
    entries.length,
    entries.nullCount,
    undefined,
    [keys, next]
  );
  return data.clone(
    new Map_(new Field('entries', entryType, false), (t as Map_).keysSorted),
    data.offset,
    data.length,
    data.nullCount,
    undefined,
    [newEntries]
  );
}
