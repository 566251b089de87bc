import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { REASON_CODES } from '../../src/hcert/index.ts';
import { generate, OUTPUT_PATH } from './generate-schema.ts';

describe('reason-code catalogue', () => {
  it('matches the table in docs/hcert.md, in both directions', () => {
    const doc = readFileSync(new URL('../../docs/hcert.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Reason codes'), doc.indexOf('## Verification order'));
    const documented = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual([...REASON_CODES]);
  });
});

describe('generated schema validator', () => {
  it('is up to date with the official schema (regenerate: npx tsx test/hcert/generate-schema.ts)', () => {
    expect(readFileSync(OUTPUT_PATH, 'utf8')).toBe(generate());
  });
});
