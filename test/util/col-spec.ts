import type { ColSpec, DataTypeName, ValueType } from '../../src/signature/types.js';

/** A ColSpec for tests: `col('a', 'double')`, `col(undefined, 'long')` (unnamed), optional with `false`. */
export const col = (
  name: string | undefined,
  type: ValueType | DataTypeName,
  required = true
): ColSpec => ({
  kind: 'column',
  ...(name === undefined ? {} : { name }),
  type: typeof type === 'string' ? { type } : type,
  required,
});
