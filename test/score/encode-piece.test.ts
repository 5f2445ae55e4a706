import { tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeTable } from '../../src/pool/transfer.js';
import { encodePiece, pieceTransfer } from '../../src/score/encode-piece.js';
import type { OutputSpec } from '../../src/score/split-task.js';
import { shareTable } from '../../src/pool/shared-table.js';

describe('encodePiece (Arrow outputs)', () => {
  it('moves a plain ArrayBuffer (no shared memory the driver would never collect), values intact', async () => {
    // Input columns that live in shared memory (as split reads produce them) are copied too:
    // a piece that referenced a SharedArrayBuffer would keep it alive on the driver unnoticed.
    const input = shareTable(
      tableFromArrays({ x: Float64Array.from([1.5, 2, -3]), s: ['a', null, 'ccc'] })
    );
    for (const format of ['arrow', 'arrows'] as const) {
      const piece = await encodePiece(
        { format, column: 'prediction', mode: 'full' } as OutputSpec,
        input.batches
      );
      expect(piece.kind).toBe('table');
      if (piece.kind !== 'table') continue;
      expect(piece.table.buffer).toBeInstanceOf(ArrayBuffer);
      expect(pieceTransfer(piece)).toEqual([piece.table.buffer]);
      const back = decodeTable(piece.table);
      expect(back.getChild('x')!.toArray()).toEqual(Float64Array.from([1.5, 2, -3]));
      expect(back.getChild('s')!.toArray()).toEqual(['a', null, 'ccc']);
    }
  });
});
