// The pool models without a port get theirs from: one allocation at a time, never a reserved or
// held port, round the range, and a clear error when nothing is left.
import { describe, expect, it } from 'vitest';
import { PortPool } from '../../src-main/core/models/port-pool.js';

const slowFree = (busy: Set<number>) => async (port: number) => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
  return !busy.has(port);
};

describe('PortPool', () => {
  it('gives concurrent allocations different ports, skipping reserved and busy ones', async () => {
    const pool = new PortPool({ range: () => ({ from: 100, to: 119 }), reserved: () => [100, 105], isFree: slowFree(new Set([101, 110])) });
    const ports = await Promise.all(Array.from({ length: 16 }, (_, i) => pool.allocate(`m${i}`)));
    expect(new Set(ports).size).toBe(16);
    expect(ports.filter((p) => [100, 101, 105, 110].includes(p))).toEqual([]);
    await expect(pool.allocate('one-too-many')).rejects.toThrow('every port of 100-119 is taken (18 by models or the router, 2 by other programs)');
  });

  it('a released port can go to another model; the next search starts after the last port given', async () => {
    const pool = new PortPool({ range: () => ({ from: 200, to: 202 }), reserved: () => [], isFree: async () => true });
    expect(await pool.allocate('a')).toBe(200);
    expect(await pool.allocate('b')).toBe(201);
    pool.release('a', 200);
    pool.release('b', 200); // not b's: ignored
    expect(await pool.allocate('c')).toBe(202);
    expect(await pool.allocate('d')).toBe(200);
    expect([...pool.holders()].sort()).toEqual([[200, 'd'], [201, 'b'], [202, 'c']]);
  });
});
