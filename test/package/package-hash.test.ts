import { cpSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageIdentity } from '../../src/package/package-hash.js';
import { tempDirs } from '../fixtures/package/paths.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

function makePackage(): string {
  const dir = tmp.make();
  mkdirSync(join(dir, 'artifacts', 'w'), { recursive: true });
  writeFileSync(join(dir, 'MLmodel'), 'flavors: {}\n');
  writeFileSync(join(dir, 'artifacts', 'w', 'a.bin'), Buffer.alloc(300_000, 7));
  writeFileSync(join(dir, 'b.txt'), 'hello');
  return dir;
}

describe('packageIdentity', () => {
  it('depends on contents and relative paths, not on where the package lives', async () => {
    const a = makePackage();
    const copy = join(tmp.make(), 'elsewhere');
    cpSync(a, copy, { recursive: true });
    const idA = await packageIdentity(a);
    expect(idA.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(idA.bytes).toBe(300_000 + 5 + statSync(join(a, 'MLmodel')).size);
    expect(await packageIdentity(copy)).toEqual(idA);
    expect(await packageIdentity(join(a, 'MLmodel'))).toEqual(idA);

    writeFileSync(join(copy, 'b.txt'), 'hellp');
    expect((await packageIdentity(copy)).hash).not.toBe(idA.hash);

    const moved = makePackage();
    renameSync(join(moved, 'b.txt'), join(moved, 'c.txt'));
    const idMoved = await packageIdentity(moved);
    expect(idMoved.bytes).toBe(idA.bytes);
    expect(idMoved.hash).not.toBe(idA.hash);
  });

  it('does not confuse a file boundary shift (ab + c vs a + bc)', async () => {
    const x = tmp.make();
    const y = tmp.make();
    writeFileSync(join(x, 'f1'), 'ab');
    writeFileSync(join(x, 'f2'), 'c');
    writeFileSync(join(y, 'f1'), 'a');
    writeFileSync(join(y, 'f2'), 'bc');
    expect((await packageIdentity(x)).hash).not.toBe((await packageIdentity(y)).hash);
  });

  it('rejects a path that is not a directory', async () => {
    await expect(packageIdentity(join(tmp.make(), 'missing'))).rejects.toMatchObject({
      code: 'E_MLMODEL_MISSING',
    });
  });
});
