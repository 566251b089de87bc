/**
 * Conformance against every official EU DCC test vector (../shared/conformance/dcc-testdata): each
 * EXPECTED* flag a vector carries is checked with our layer functions, and the full pipeline's
 * verdict must agree with them. Differences are allowed only where deviations.ts explains them.
 * The picture flag (QR image decoding, slow) lives in conformance-picture.test.ts.
 */
import { describe, it, expect } from 'vitest';
import { FLAGS, evaluate, loadVectors, pipelineProblem, verifyVector, type Flag } from './vectors.ts';
import { OURS, deviationFor, deviations } from './deviations.ts';

const vectors = loadVectors();
const all = deviations();
const deviated = new Set<string>();
const checked = FLAGS.filter((f) => f !== 'EXPECTEDPICTUREDECODE');

describe('official DCC test vectors', () => {
  it('finds every vector, including PL/PT versioned folders, IE/2DCode/Raw and the top-level QR file', () => {
    expect(vectors.length).toBe(582);
    for (const prefix of ['PL/1.0.0/', 'PL/1.2.1/', 'PL/1.3.0/', 'PT/1.0.0/', 'PT/1.3.0/', 'IE/2DCode/Raw/', 'common/']) {
      expect(vectors.some((v) => v.id.startsWith(prefix))).toBe(true);
    }
    expect(vectors.some((v) => v.id === 'QR')).toBe(true);
  });

  const groups = [...new Set(vectors.map((v) => v.group))];
  for (const group of groups) {
    describe(group, () => {
      for (const v of vectors.filter((x) => x.group === group)) {
        it(v.id, () => {
          const agreed = new Map<Flag, boolean>();
          for (const flag of checked) {
            if (!(flag in v.data.EXPECTEDRESULTS)) continue;
            const o = evaluate(v, flag);
            const dev = deviationFor(all, v, flag);
            if (dev) {
              if (o.actual !== o.expected) deviated.add(`${dev.match}|${flag}`);
              continue;
            }
            expect(o.actual, `${flag}: ${o.note}`).toBe(o.expected);
            agreed.set(flag, o.actual);
          }
          const result = verifyVector(v);
          if (result) expect(pipelineProblem(v, result, (f) => agreed.get(f))).toBeNull();
        });
      }
    });
  }

  it('lists no stale deviation of our own', () => {
    const stale = OURS.filter((d) => d.flag !== 'EXPECTEDPICTUREDECODE' && !deviated.has(`${d.match}|${d.flag}`));
    expect(stale.map((d) => `${d.match} ${d.flag}`)).toEqual([]);
  });
});
