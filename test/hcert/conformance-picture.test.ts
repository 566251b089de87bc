/**
 * EXPECTEDPICTUREDECODE of every official vector: the vector's `2DCODE` PNG is decoded (pngjs +
 * jsQR) and must yield its `PREFIX`. Separate file because image decoding dominates the runtime
 * (~20 ms per vector) and vitest runs files in parallel.
 */
import { describe, it, expect } from 'vitest';
import { evaluate, loadVectors } from './vectors.ts';
import { OURS, deviationFor, deviations } from './deviations.ts';

const vectors = loadVectors().filter((v) => 'EXPECTEDPICTUREDECODE' in v.data.EXPECTEDRESULTS);
const all = deviations();

describe('EXPECTEDPICTUREDECODE', () => {
  const deviated = new Set<string>();
  for (const v of vectors) {
    it(v.id, () => {
      const o = evaluate(v, 'EXPECTEDPICTUREDECODE');
      const dev = deviationFor(all, v, 'EXPECTEDPICTUREDECODE');
      if (dev) {
        if (o.actual !== o.expected) deviated.add(dev.match);
        return;
      }
      expect(o.actual, o.note).toBe(o.expected);
    });
  }
  it('lists no stale picture deviation', () => {
    const stale = OURS.filter((d) => d.flag === 'EXPECTEDPICTUREDECODE' && !deviated.has(d.match));
    expect(stale.map((d) => d.match)).toEqual([]);
  });
});
