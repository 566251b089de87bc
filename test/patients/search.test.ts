import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_LABELS, MAX_PREFIX, nameWords, planSearch, searchLabels } from '../../src/domain/patient-search.ts';

/** The parser of the staff search box and the labels a record is indexed by: pure, no database. */
describe('patient search: what is typed, what is indexed', () => {
  it('understands names in any case and accent, French and ISO birth dates, and registration codes', () => {
    expect(planSearch('  Lefèvre   ZOÉ ')).toEqual({ labels: ['name:lefevre', 'name:zoe'], code: null });
    expect(planSearch('martin 12/04/1990')).toEqual({ labels: ['name:martin', 'birth:1990-04-12'], code: null });
    expect(planSearch('1.4.1990')!.labels).toEqual(['birth:1990-04-01']);
    expect(planSearch('1990-04-12')!.labels).toEqual(['birth:1990-04-12']);
    // Not a date (31 February): read as words.
    expect(planSearch('31/02/1990')!.labels).toEqual(['name:31', 'name:02', 'name:1990']);
    expect(planSearch('k7qm-3xtb')).toEqual({ labels: ['name:k7qm', 'name:3xtb'], code: 'K7QM3XTB' });
    // Eight letters of the code alphabet are both a possible name and a possible code: both are tried.
    expect(planSearch('Bertrand')).toEqual({ labels: ['name:bertrand'], code: 'BERTRAND' });
    expect(planSearch("d'Artagnan")!.labels).toEqual(['name:artagnan']);
    for (const nothing of ['', '   ', 'a', 'a b', '-- !', "l'"]) expect(planSearch(nothing), nothing).toBeNull();
  });

  it('indexes every prefix of two letters or more of each name word, folded, and the birth date', () => {
    const labels = searchLabels({ givenName: 'Zoé', familyName: 'Lefèvre-Du Bois', birthDate: '1988-02-03' });
    expect(labels).toEqual(expect.arrayContaining(['birth:1988-02-03', 'name:zo', 'name:zoe', 'name:le', 'name:lefevre', 'name:du', 'name:bo', 'name:bois']));
    expect(labels).not.toContain('name:z');
    expect(labels.every((l) => !/[A-ZÀ-ÿ]/.test(l))).toBe(true);
  });

  it('property: any prefix of a name word that is typed finds the record, with any other word of it and its birth date', () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcdeéèfghijklmnoôpqrstuüvwxyzç'), minLength: 2, maxLength: 30 });
    fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 3 }), word, fc.nat(), fc.nat(), fc.boolean(), (given, family, pick, cut, withDate) => {
      const record = { givenName: given.join(' '), familyName: family, birthDate: '1975-11-30' };
      const indexed = new Set(searchLabels(record));
      const words = [...given, family];
      const w = words[pick % words.length]!;
      const typed = w.slice(0, 2 + (cut % (w.length - 1))).toUpperCase();
      const plan = planSearch(`${typed}${withDate ? ' 30/11/1975' : ''}`)!;
      // What the search asks for is all indexed on the record (a word longer than MAX_PREFIX is cut alike).
      return plan.labels.every((l) => indexed.has(l)) && plan.labels.length >= 1;
    }), { numRuns: 300 });
  });

  it('property: the parser takes any text up to its bound without throwing, and asks for few labels', () => {
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (q) => {
      const plan = planSearch(q);
      return plan === null || (plan.labels.length <= MAX_LABELS && plan.labels.every((l) => l.length <= 6 + MAX_PREFIX * 2));
    }), { numRuns: 1000 });
    expect(nameWords('ÉLISE  Petit')).toEqual(['elise', 'petit']);
    expect(planSearch('ab-cd-ef-gh-ij-kl-mn-op-qr-st')!.labels).toHaveLength(MAX_LABELS);
  });
});
