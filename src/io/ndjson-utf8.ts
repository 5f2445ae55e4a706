/**
 * UTF-8 for the NDJSON reader: JSON string escapes decoded into UTF-8 bytes, and the exact
 * offset of the first invalid byte once `isUtf8` has said there is one.
 *
 * @module
 */

const BACKSLASH = 0x5c;

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

/**
 * Copies the content of a JSON string (between its quotes) as UTF-8, decoding escapes; a lone
 * surrogate escape becomes U+FFFD, as `TextEncoder` writes it. The output never exceeds the
 * input length.
 *
 * @param b - the bytes (already validated by {@link scanString})
 * @param from - the first content byte
 * @param to - the closing quote's index
 * @param out - the destination
 * @param o - the destination index
 * @returns the destination index after the copy
 */
export function decodeStringInto(
  b: Uint8Array,
  from: number,
  to: number,
  out: Uint8Array,
  o: number
): number {
  let p = from;
  while (p < to) {
    const c = b[p]!;
    if (c !== BACKSLASH) {
      out[o++] = c;
      p++;
      continue;
    }
    const e = b[p + 1]!;
    p += 2;
    switch (e) {
      case 0x62:
        out[o++] = 0x08;
        continue;
      case 0x66:
        out[o++] = 0x0c;
        continue;
      case 0x6e:
        out[o++] = 0x0a;
        continue;
      case 0x72:
        out[o++] = 0x0d;
        continue;
      case 0x74:
        out[o++] = 0x09;
        continue;
      case 0x75:
        break;
      default: // " \ /
        out[o++] = e;
        continue;
    }
    let cp = hex4(b, p);
    p += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (b[p] === BACKSLASH && b[p + 1] === 0x75 && p + 5 < to) {
        const lo = hex4(b, p + 2);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        } else {
          cp = 0xfffd;
        }
      } else {
        cp = 0xfffd;
      }
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      cp = 0xfffd;
    }
    if (cp < 0x80) {
      out[o++] = cp;
    } else if (cp < 0x800) {
      out[o++] = 0xc0 | (cp >> 6);
      out[o++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[o++] = 0xe0 | (cp >> 12);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    } else {
      out[o++] = 0xf0 | (cp >> 18);
      out[o++] = 0x80 | ((cp >> 12) & 0x3f);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    }
  }
  return o;
}

function hex4(b: Uint8Array, p: number): number {
  return (
    (hexValue(b[p]!) << 12) |
    (hexValue(b[p + 1]!) << 8) |
    (hexValue(b[p + 2]!) << 4) |
    hexValue(b[p + 3]!)
  );
}

/**
 * The index of the first byte that starts an invalid UTF-8 sequence (overlong forms, surrogates,
 * code points past U+10FFFF and truncated sequences are invalid, as `isUtf8` rules), or -1.
 *
 * @param b - the bytes
 * @param from - the start
 * @param to - the end
 * @returns the index, or -1 when the range is valid
 */
export function firstInvalidUtf8(b: Uint8Array, from: number, to: number): number {
  let p = from;
  while (p < to) {
    const c = b[p]!;
    if (c < 0x80) {
      p++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return p;
    if (p + n >= to) return p; // truncated
    const c1 = b[p + 1]!;
    if (c1 < lo || c1 > hi) return p;
    for (let k = 2; k <= n; k++) {
      const ck = b[p + k]!;
      if (ck < 0x80 || ck > 0xbf) return p;
    }
    p += n + 1;
  }
  return -1;
}
