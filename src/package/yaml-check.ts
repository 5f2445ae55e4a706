/**
 * The structural checks of a parsed `MLmodel` document that the `yaml` package either does in
 * quadratic time (duplicate keys) or not at all (collection keys, cyclic aliases, nesting
 * depth): see {@link checkYamlDocument}.
 *
 * @module
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document } from 'yaml';
import type { ModelError } from '../errors.js';
import { MAX_NESTING_DEPTH } from '../signature/nesting-depth.js';

/** One collection (or pair) being walked by {@link checkYamlDocument}. */
interface WalkFrame {
  node: unknown;
  children: readonly unknown[];
  next: number;
  /** Levels of nesting below and including this node, aliases expanded (so far). */
  height: number;
}

/**
 * Checks a parsed document in one pass, without recursion: no mapping repeats a key (the check
 * `uniqueKeys` made, keys compared by scalar value) or has a collection as a key; at most
 * `maxAliases` aliases, each naming an anchor defined before it and outside itself; at most
 * {@link MAX_NESTING_DEPTH} levels of nesting once aliases are expanded.
 *
 * Nodes are visited in document order (keys before values), the order in which `yaml` resolves
 * an alias to the last anchor of that name before it. Linear in the number of nodes: one `Set`
 * per mapping, one height per collection.
 *
 * @param doc - The parsed document (without errors).
 * @param maxAliases - Most aliases allowed.
 * @param fail - Builds the error for a broken rule; `offset` locates it in the text.
 * @throws {ModelError} What `fail` builds.
 */
export function checkYamlDocument(
  doc: Document,
  maxAliases: number,
  fail: (what: string, offset?: number) => ModelError
): void {
  const anchors = new Map<string, unknown>();
  const heights = new Map<unknown, number>();
  const open = new Set<unknown>();
  const stack: WalkFrame[] = [];
  let aliases = 0;
  const offsetOf = (node: unknown): number | undefined =>
    (node as { range?: [number, number, number] | null }).range?.[0];

  /** Height of a leaf, or undefined after pushing a frame for a collection. */
  const enter = (node: unknown, asKey: boolean): number | undefined => {
    if (node === null || node === undefined) return 0;
    const anchor = (node as { anchor?: unknown }).anchor;
    if (typeof anchor === 'string' && anchor !== '') anchors.set(anchor, node);
    if (isAlias(node)) {
      if (++aliases > maxAliases) throw fail(`more than ${maxAliases} aliases`, offsetOf(node));
      const target = anchors.get(node.source);
      if (target === undefined)
        throw fail(`alias *${node.source} has no anchor &${node.source} before it`, offsetOf(node));
      if (open.has(target))
        throw fail(`alias *${node.source} is inside the node it refers to`, offsetOf(node));
      if (asKey && (isMap(target) || isSeq(target)))
        throw fail('a mapping key must be a scalar, found a collection', offsetOf(node));
      return heights.get(target) ?? 0;
    }
    if (isPair(node)) {
      stack.push({ node, children: [node.key, node.value], next: 0, height: 0 });
      return undefined;
    }
    if (isMap(node) || isSeq(node)) {
      if (stack.length >= MAX_NESTING_DEPTH * 2 + 1)
        throw fail(`nested deeper than ${MAX_NESTING_DEPTH} levels`, offsetOf(node));
      if (isMap(node)) {
        const keys = new Set<unknown>();
        for (const pair of node.items) {
          // PyYAML refuses these ("found unhashable key"); a JS object would stringify them.
          // (An alias key is checked when it is visited: its anchor may come later in this map.)
          if (isMap(pair.key) || isSeq(pair.key))
            throw fail('a mapping key must be a scalar, found a collection', offsetOf(pair.key));
          if (!isScalar(pair.key)) continue;
          if (keys.has(pair.key.value)) {
            const key = String(pair.key.value);
            throw fail(
              `duplicate key "${key.length > 60 ? `${key.slice(0, 57)}...` : key}"`,
              offsetOf(pair.key)
            );
          }
          keys.add(pair.key.value);
        }
      }
      open.add(node);
      stack.push({ node, children: node.items, next: 0, height: 0 });
      return undefined;
    }
    return 0;
  };

  const done = (height: number): void => {
    const parent = stack[stack.length - 1];
    if (parent !== undefined) parent.height = Math.max(parent.height, height);
  };

  enter(doc.contents, false);
  for (let frame = stack[stack.length - 1]; frame !== undefined; frame = stack[stack.length - 1]) {
    if (frame.next < frame.children.length) {
      const asKey = frame.next === 0 && isPair(frame.node);
      const leaf = enter(frame.children[frame.next++], asKey);
      if (leaf !== undefined) done(leaf);
      continue;
    }
    stack.pop();
    // A pair is not a level of nesting of the JS value; a mapping or a sequence is.
    const height = isPair(frame.node) ? frame.height : frame.height + 1;
    open.delete(frame.node);
    heights.set(frame.node, height);
    if (height > MAX_NESTING_DEPTH)
      throw fail(`nested deeper than ${MAX_NESTING_DEPTH} levels`, offsetOf(frame.node));
    done(height);
  }
}
