/**
 * Object keys of NDJSON records matched against column names by their bytes: a hash table of
 * the names' UTF-8 (FNV-1a, chained) for raw keys, and a name map for keys written with escapes
 * (decoded first, so `"\u0061"` is the column `a`). Lookups cost time linear in the key length
 * whatever the number of columns.
 *
 * @module
 */

const encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Column names looked up by raw UTF-8 bytes or by decoded name. */
export class KeyTable {
  /** The names, by index. */
  readonly names: string[] = [];
  /** Every name's UTF-8, back to back; `starts[i]`, `lengths[i]` (-1: no UTF-8 form). */
  private store = new Uint8Array(256);
  private used = 0;
  private readonly starts: number[] = [];
  private readonly lengths: number[] = [];
  /** Whether a name's raw spelling in JSON is its UTF-8 between quotes (no `"`, `\\`, controls). */
  private readonly plain: boolean[] = [];
  private readonly hashes: number[] = [];
  private readonly chain: number[] = [];
  private buckets = new Int32Array(16).fill(-1);
  private readonly byName = new Map<string, number>();

  /** The number of names. */
  get size(): number {
    return this.names.length;
  }

  /**
   * Adds a name (names are expected to be distinct).
   *
   * @param name - the name
   * @returns its index
   */
  add(name: string): number {
    const i = this.names.length;
    this.names.push(name);
    this.byName.set(name, i);
    this.chain.push(-1);
    // A name holding a lone surrogate has no UTF-8 form; only its escaped spelling can match.
    if (LONE_SURROGATE.test(name)) {
      this.starts.push(0);
      this.lengths.push(-1);
      this.plain.push(false);
      this.hashes.push(0);
      return i;
    }
    const n = Buffer.byteLength(name, 'utf8');
    if (this.used + n > this.store.length) {
      const bigger = new Uint8Array(Math.max(this.store.length * 2, this.used + n));
      bigger.set(this.store.subarray(0, this.used));
      this.store = bigger;
    }
    encoder.encodeInto(name, this.store.subarray(this.used, this.used + n));
    this.starts.push(this.used);
    this.lengths.push(n);
    let plain = true;
    for (let k = this.used; k < this.used + n; k++) {
      const c = this.store[k]!;
      if (c === 0x22 || c === 0x5c || c < 0x20) plain = false;
    }
    this.plain.push(plain);
    const h = hash(this.store, this.used, this.used + n);
    this.used += n;
    this.hashes.push(h);
    if (this.names.length * 2 > this.buckets.length) this.rehash();
    else this.link(i, h);
    return i;
  }

  /**
   * Whether the raw key bytes `b[from, to)` spell name `i`.
   *
   * @param i - the name's index
   * @param b - the bytes
   * @param from - the key's first byte
   * @param to - the key's end
   * @returns true when they match
   */
  matches(i: number, b: Uint8Array, from: number, to: number): boolean {
    const n = this.lengths[i]!;
    if (n !== to - from) return false;
    const store = this.store;
    const s = this.starts[i]!;
    for (let k = 0; k < n; k++) if (store[s + k] !== b[from + k]) return false;
    return true;
  }

  /**
   * Whether the JSON string starting at `b[p]` (its opening quote) is exactly name `i` written
   * without escapes; the caller then skips the string without scanning it.
   *
   * @param i - the name's index
   * @param b - the bytes
   * @param p - the index of the opening quote
   * @returns the index after the closing quote, or -1
   */
  quoted(i: number, b: Uint8Array, p: number): number {
    if (!this.plain[i]) return -1;
    const n = this.lengths[i]!;
    const store = this.store;
    const s = this.starts[i]!;
    p++;
    for (let k = 0; k < n; k++) if (store[s + k] !== b[p + k]) return -1;
    return b[p + n] === 0x22 ? p + n + 1 : -1;
  }

  /**
   * The index of the name spelled by raw (escape-free) key bytes.
   *
   * @param b - the bytes
   * @param from - the key's first byte
   * @param to - the key's end
   * @returns the index, or -1
   */
  findBytes(b: Uint8Array, from: number, to: number): number {
    const h = hash(b, from, to);
    for (let i = this.buckets[h & (this.buckets.length - 1)]!; i >= 0; i = this.chain[i]!) {
      if (this.hashes[i] === h && this.matches(i, b, from, to)) return i;
    }
    return -1;
  }

  /**
   * The index of a decoded name.
   *
   * @param name - the name
   * @returns the index, or -1
   */
  findName(name: string): number {
    return this.byName.get(name) ?? -1;
  }

  private link(i: number, h: number): void {
    const slot = h & (this.buckets.length - 1);
    this.chain[i] = this.buckets[slot]!;
    this.buckets[slot] = i;
  }

  private rehash(): void {
    this.buckets = new Int32Array(this.buckets.length * 4).fill(-1);
    for (let i = 0; i < this.names.length; i++) {
      if (this.lengths[i]! >= 0) this.link(i, this.hashes[i]!);
    }
  }
}

function hash(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}
