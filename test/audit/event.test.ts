import { describe, expect, it } from 'vitest';
import { chainHash, GENESIS_HASH } from '../../src/audit/event.ts';

describe('the chained hash', () => {
  it('is stable: trails written by earlier versions still verify', () => {
    // Computed by the first release (SHA-256 over previous hash, newline, canonical JSON of the fields).
    expect(chainHash(GENESIS_HASH, {
      seq: 1, at: new Date('2026-11-25T21:00:00.000Z'), actorId: 'acct-1', actorRole: 'staff', tenantId: 't-1', action: 'document.read',
      resourceType: 'DocumentReference', resourceId: 'doc-1', subjectRef: 'sub_x', purpose: 'tenant-service', outcome: 'success', requestId: 'req-1',
    })).toBe('b6a024e47eaa19210d62b7bbee6628700068c53656e505d3dd9d6b2641dc5703');
  });
});
