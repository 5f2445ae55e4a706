/**
 * The `ARROW:schema` key of a Parquet footer: the Arrow schema a file was written from, so
 * readers restore Arrow types that Parquet cannot express alone (dictionary encoding, large
 * and view types, timestamp units and zones as written, field metadata).
 *
 * Its value is base64 of one Arrow IPC schema message framed as arrow-rs and arrow-cpp write it:
 * the continuation marker `0xFFFFFFFF`, the flatbuffer's length (u32 little-endian), then the
 * flatbuffer. Old writers omitted the marker (length first); both are read. The flatbuffer is
 * padded to 8 bytes when written, as in an IPC stream, which every reader accepts.
 *
 * @module
 */
import { DataType, type Field, Message, MessageHeader, Schema as ArrowSchema } from 'apache-arrow';

/** The key arrow-rs and arrow-cpp store the Arrow schema under. */
export const ARROW_SCHEMA_KEY = 'ARROW:schema';

/**
 * Decodes an `ARROW:schema` value.
 *
 * @param value - the base64 text
 * @returns the schema, or null when the value cannot be decoded (apache-arrow may not know
 *   every type a newer writer uses; readers then fall back to Parquet's own types)
 */
export function decodeArrowSchemaValue(value: string): ArrowSchema | null {
  try {
    const bytes = new Uint8Array(Buffer.from(value, 'base64'));
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    if (bytes.length >= 8 && dv.getUint32(0, true) === 0xffffffff) at = 4;
    const length = dv.getUint32(at, true);
    const body = bytes.subarray(at + 4, at + 4 + length);
    if (body.length !== length) return null;
    const message = Message.decode(body);
    if (message.headerType !== MessageHeader.Schema) return null;
    return message.header() as ArrowSchema;
  } catch {
    return null;
  }
}

/**
 * Encodes a schema as an `ARROW:schema` value.
 *
 * @param schema - the Arrow schema
 * @returns the base64 text
 */
export function encodeArrowSchemaValue(schema: ArrowSchema): string {
  const fb = Message.encode(Message.from(schema));
  const padded = (fb.length + 7) & ~7;
  const out = new Uint8Array(8 + padded);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xffffffff, true);
  dv.setUint32(4, padded, true);
  out.set(fb, 8);
  return Buffer.from(out).toString('base64');
}

/**
 * Rewrites an `ARROW:schema` value: keeps the fields `keep` accepts, in order, then appends
 * `append`. Schema-level metadata is kept.
 *
 * @param value - the base64 text of the original schema
 * @param keep - which top-level fields stay
 * @param append - fields added at the end
 * @returns the new base64 text, or null when the original cannot be decoded
 */
export function rewriteArrowSchemaValue(
  value: string,
  keep: (name: string) => boolean,
  append: readonly Field[] = []
): string | null {
  const schema = decodeArrowSchemaValue(value);
  if (schema === null) return null;
  const fields = [...schema.fields.filter((f) => keep(f.name)), ...append];
  const merged = new ArrowSchema(fields, schema.metadata);
  if (!fields.some((f) => hasDictionary(f.type))) return encodeArrowSchemaValue(merged);
  // Dictionary ids must be unique in a schema (arrow-cpp refuses duplicates), but the appended
  // fields were numbered by another writer (Arrow JS numbers dictionaries per process, arrow-rs
  // per schema). Renumber them all, depth first, as arrow-rs does, on a fresh decoded copy so
  // the caller's types are not touched.
  const copy = Message.decode(Message.encode(Message.from(merged))).header() as ArrowSchema;
  let next = 0;
  const renumber = (type: DataType): void => {
    if (DataType.isDictionary(type)) {
      (type as { id: number }).id = next++;
      return renumber(type.dictionary);
    }
    for (const child of type.children ?? []) renumber(child.type);
  };
  for (const f of copy.fields) renumber(f.type);
  return encodeArrowSchemaValue(copy);
}

function hasDictionary(type: DataType): boolean {
  if (DataType.isDictionary(type)) return true;
  // (A dictionary's `children` are its value type's.)
  return (type.children ?? []).some((c: Field) => hasDictionary(c.type));
}
