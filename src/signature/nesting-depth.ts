/**
 * The nesting limit of the documents a package holds (MLmodel YAML, signature and params JSON,
 * input examples, `js_env.json`), and linear-time, non-recursive checks of it.
 *
 * Why a limit: `JSON.stringify`, `String(array)`, the `yaml` composer and every recursive walk
 * over a signature type use the call stack, so a 100,000-deep `[[[...]]]` ends in a
 * `RangeError: Maximum call stack size exceeded` far from where it came in. Checking the depth
 * once where a document enters, without recursion, turns that into a coded error naming the
 * file, and bounds every later walk. Real documents nest a handful of levels (an MLmodel about
 * 5, a signature type about 3 per array/object level); MLflow itself, in Python, stops near
 * 1000 (its recursion limit).
 *
 * @module
 */

/** Most levels of nested arrays/objects (JSON) or sequences/mappings (YAML) a package document may have. */
export const MAX_NESTING_DEPTH = 100;

/**
 * Whether JSON text nests arrays/objects deeper than `limit`. One pass over the text, no
 * recursion and no parsing: brackets inside strings are skipped. Malformed JSON is not
 * reported here (the parser does that); only its bracket depth is counted.
 *
 * @param text - JSON text.
 * @param limit - Most levels allowed; default {@link MAX_NESTING_DEPTH}.
 * @returns True when some bracket opens deeper than `limit`.
 */
export function jsonTextTooDeep(text: string, limit: number = MAX_NESTING_DEPTH): boolean {
  // A document of n characters cannot nest deeper than n levels.
  if (text.length <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/**
 * Whether a JS value nests arrays/objects deeper than `limit` (the value itself is level 1 when
 * it is an array or object). Iterative; each object is walked again only when reached at a
 * greater depth than before, so shared sub-objects cost at most `limit` visits and a cycle is
 * reported as too deep instead of looping.
 *
 * @param value - Any value (typically parsed JSON or a typed signature).
 * @param limit - Most levels allowed; default {@link MAX_NESTING_DEPTH}.
 * @returns True when some array/object sits deeper than `limit`.
 */
export function valueTooDeep(value: unknown, limit: number = MAX_NESTING_DEPTH): boolean {
  const seen = new Map<object, number>();
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof Date) continue;
    if (depth > limit) return true;
    if ((seen.get(v) ?? 0) >= depth) continue;
    seen.set(v, depth);
    const children: unknown[] = Array.isArray(v)
      ? v
      : v instanceof Map
        ? [...v.values()]
        : Object.values(v);
    for (const child of children) stack.push([child, depth + 1]);
  }
  return false;
}
