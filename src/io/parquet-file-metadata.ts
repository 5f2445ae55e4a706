/**
 * Encoding a Parquet footer (`FileMetaData`) from its parts. Row groups may come already
 * encoded (bytes), so a writer of many row groups keeps a few hundred bytes per row group
 * instead of their decoded structs.
 *
 * @module
 */
import { FileMetaDataId, type KeyValue, KeyValueId } from './parquet-metadata.js';
import {
  encodeThriftStruct,
  thriftString,
  ThriftType,
  type ThriftStruct,
  ThriftWriter,
} from './thrift-compact.js';

/** The magic at both ends of a Parquet file. */
export const PAR1: Uint8Array = new Uint8Array([0x50, 0x41, 0x52, 0x31]);

/** The parts of a footer. */
export interface FileMetaDataParts {
  /** `version` (arrow-rs writes 1 for format 1.0 files, 2 for 2.x). */
  version: number;
  /** `SchemaElement` structs, root first. */
  schema: readonly ThriftStruct[];
  numRows: number;
  /** `RowGroup` structs, or their compact-protocol bytes. */
  rowGroups: readonly (ThriftStruct | Uint8Array)[];
  /** Written when not empty. */
  keyValueMetadata: readonly KeyValue[];
  /** Written when not null. */
  createdBy: string | null;
  /** `ColumnOrder` structs, one per leaf; written when not null. */
  columnOrders: readonly ThriftStruct[] | null;
}

/**
 * Encodes a `FileMetaData` struct (fields in id order, as generated Thrift code writes them).
 *
 * @param parts - the footer's contents
 * @returns its bytes (without the length and magic that follow it in a file)
 */
export function encodeFileMetaData(parts: FileMetaDataParts): Uint8Array {
  const w = new ThriftWriter();
  w.beginStruct();
  w.field(FileMetaDataId.version, ThriftType.I32, parts.version);
  w.field(FileMetaDataId.schema, ThriftType.LIST, {
    elementType: ThriftType.STRUCT,
    items: [...parts.schema],
  });
  w.field(FileMetaDataId.numRows, ThriftType.I64, BigInt(parts.numRows));
  w.fieldHeader(FileMetaDataId.rowGroups, ThriftType.LIST);
  w.listHeader(ThriftType.STRUCT, parts.rowGroups.length);
  for (const rg of parts.rowGroups) w.raw(rg instanceof Uint8Array ? rg : encodeThriftStruct(rg));
  if (parts.keyValueMetadata.length > 0) {
    w.field(FileMetaDataId.keyValueMetadata, ThriftType.LIST, {
      elementType: ThriftType.STRUCT,
      items: parts.keyValueMetadata.map(keyValueStruct),
    });
  }
  if (parts.createdBy !== null) {
    w.field(FileMetaDataId.createdBy, ThriftType.BINARY, thriftString(parts.createdBy));
  }
  if (parts.columnOrders !== null) {
    w.field(FileMetaDataId.columnOrders, ThriftType.LIST, {
      elementType: ThriftType.STRUCT,
      items: [...parts.columnOrders],
    });
  }
  w.endStruct();
  return w.finish();
}

/**
 * A `KeyValue` struct.
 *
 * @param kv - the pair
 * @returns the struct
 */
export function keyValueStruct(kv: KeyValue): ThriftStruct {
  const fields: ThriftStruct['fields'] = [
    { id: KeyValueId.key, type: ThriftType.BINARY, value: thriftString(kv.key) },
  ];
  if (kv.value !== undefined) {
    fields.push({ id: KeyValueId.value, type: ThriftType.BINARY, value: thriftString(kv.value) });
  }
  return { fields };
}

/**
 * The 8 bytes that end a Parquet file: the footer's length and the magic.
 *
 * @param footerLength - byte length of the encoded `FileMetaData`
 * @returns the trailer
 */
export function parquetTrailer(footerLength: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, footerLength, true);
  out.set(PAR1, 4);
  return out;
}
