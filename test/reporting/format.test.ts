import { describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { postalArea, renderReport, pseudonymUuid, type ReportFacts } from '../../src/reporting/fhir.ts';
import { deriveReportingKeys, signRequest, trustedKeys, verifyRequest, SignatureError } from '../../src/reporting/signature.ts';
import { resultAvailableMail } from '../../src/notify/result-available.ts';

const facts: ReportFacts = {
  v: 1, resultId: randomUUID(), patientEntryId: randomUUID(), subjectRef: 'sub_abc', tenantId: randomUUID(), tenantName: 'Pharmacie des Tilleuls',
  testType: 'antigen', outcome: 'positive', sampledAt: '2026-11-20T09:00:00.000Z', recordedAt: '2026-11-20T09:30:00.000Z',
  identity: { givenName: 'Camille', familyName: 'Martin', birthDate: '1990-04-12', nir: '290047511234560', postalCode: '75011', city: 'Paris' },
};

describe('report payload (FHIR R4)', () => {
  const key = randomBytes(32);

  it('is a transaction Bundle with a Patient and an Observation coded in LOINC and SNOMED CT', () => {
    const b = JSON.parse(renderReport(facts, 'identified', key, 'bundle-1'));
    expect(b).toMatchObject({ resourceType: 'Bundle', type: 'transaction', id: 'bundle-1' });
    const [patient, observation] = b.entry;
    expect(patient.resource).toEqual({
      resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '290047511234560' }],
      name: [{ family: 'Martin', given: ['Camille'] }], birthDate: '1990-04-12', address: [{ postalCode: '75011', city: 'Paris', country: 'FR' }],
    });
    expect(observation.resource.code.coding[0]).toMatchObject({ system: 'http://loinc.org', code: '94558-4' });
    expect(observation.resource.valueCodeableConcept.coding[0]).toMatchObject({ system: 'http://snomed.info/sct', code: '10828004' });
    expect(patient.request).toEqual({ method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:oid:1.2.250.1.213.1.4.8|290047511234560' });
    expect(JSON.parse(renderReport({ ...facts, identity: { ...facts.identity, nir: null } }, 'identified', key, 'b')).entry[0].request).toEqual({ method: 'POST', url: 'Patient' });
    expect(observation.resource.subject.reference).toBe(patient.fullUrl);
    expect(observation.resource.identifier[0].value).toBe(`urn:uuid:${facts.resultId}`);
    expect(observation.request.ifNoneExist).toContain(facts.resultId);
    const pcr = JSON.parse(renderReport({ ...facts, testType: 'pcr', outcome: 'negative' }, 'identified', key, 'b'));
    expect(pcr.entry[1].resource.code.coding[0].code).toBe('94500-6');
    expect(pcr.entry[1].resource.valueCodeableConcept.coding[0].code).toBe('260385009');
  });

  it('is byte-identical for every attempt (the receiver compares bodies under one key)', () => {
    expect(renderReport(facts, 'identified', key, 'x')).toBe(renderReport(structuredClone(facts), 'identified', key, 'x'));
  });

  it('pseudonymous mode sends a keyed pseudonym, the birth year and the postal code only', () => {
    const text = renderReport(facts, 'pseudonymous', key, 'x');
    for (const secret of ['Camille', 'Martin', '290047511234560', '1990-04-12', 'Paris', 'sub_abc']) expect(text).not.toContain(secret);
    const patient = JSON.parse(text).entry[0].resource;
    expect(patient).toEqual({
      resourceType: 'Patient', identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${pseudonymUuid(key, 'sub_abc')}` }],
      birthDate: '1990', address: [{ postalCode: '75011', country: 'FR' }],
    });
    expect(pseudonymUuid(randomBytes(32), 'sub_abc')).not.toBe(pseudonymUuid(key, 'sub_abc'));
  });

  it('keeps postal code and city of an address, never the street', () => {
    expect(postalArea('12 rue des Lilas, 75011 Paris')).toEqual({ postalCode: '75011', city: 'Paris' });
    expect(postalArea('3 quai du Port, 13002 Marseille')).toEqual({ postalCode: '13002', city: 'Marseille' });
    expect(postalArea('somewhere')).toEqual({ postalCode: null, city: null });
    expect(postalArea(null)).toEqual({ postalCode: null, city: null });
  });
});

describe('request signature (detached JWS, ES256)', () => {
  const master = randomBytes(32).toString('base64');
  const now = new Date('2026-11-20T10:00:00Z');

  it('is derived from the master key: same key, same kid, in every process', async () => {
    const a = await deriveReportingKeys(master);
    const b = await deriveReportingKeys(master);
    expect(a.publicJwk).toEqual(b.publicJwk);
    expect(a.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(a.publicJwk).not.toHaveProperty('d');
    expect((await deriveReportingKeys(randomBytes(32).toString('base64'))).publicJwk.kid).not.toBe(a.publicJwk.kid);
  });

  it('verifies over the exact body, bound to its idempotency key and time; anything else is refused', async () => {
    const keys = await deriveReportingKeys(master);
    const trusted = trustedKeys({ keys: [keys.publicJwk] });
    const body = Buffer.from('{"resourceType":"Bundle"}');
    const sig = await signRequest(body, keys.signing, keys.publicJwk.kid, 'key-00000001', now);
    expect(sig).toMatch(/^[\w-]+\.\.[\w-]+$/);
    await expect(verifyRequest(body, sig, trusted, { idempotencyKey: 'key-00000001', now })).resolves.toEqual({ kid: keys.publicJwk.kid });
    const problem = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof SignatureError ? e.problem : String(e)));
    expect(await problem(verifyRequest(Buffer.from('{"resourceType":"Bundle" }'), sig, trusted, { idempotencyKey: 'key-00000001', now }))).toBe('signature');
    expect(await problem(verifyRequest(body, sig, trusted, { idempotencyKey: 'key-00000002', now }))).toBe('key-mismatch');
    expect(await problem(verifyRequest(body, sig, trusted, { idempotencyKey: 'key-00000001', now: new Date(now.getTime() + 600_000) }))).toBe('stale');
    expect(await problem(verifyRequest(body, undefined, trusted, { idempotencyKey: 'key-00000001', now }))).toBe('malformed');
    expect(await problem(verifyRequest(body, 'a.b.c', trusted, { idempotencyKey: 'key-00000001', now }))).toBe('malformed');
    const other = await deriveReportingKeys(randomBytes(32).toString('base64'));
    expect(await problem(verifyRequest(body, sig, trustedKeys({ keys: [other.publicJwk] }), { idempotencyKey: 'key-00000001', now }))).toBe('unknown-key');
    // alg "none" or HMAC never reaches key resolution.
    const [h, , s] = sig.split('.');
    const none = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h!, 'base64url').toString()), alg: 'HS256' })).toString('base64url');
    expect(await problem(verifyRequest(body, `${none}..${s}`, trusted, { idempotencyKey: 'key-00000001', now }))).toBe('algorithm');
  });

  it('trusts only public P-256 keys', async () => {
    const keys = await deriveReportingKeys(master);
    expect(() => trustedKeys({ keys: [{ ...keys.publicJwk, d: 'x' }] })).toThrow();
    expect(() => trustedKeys({ keys: [{ kty: 'oct', k: 'x', kid: 'k' }] })).toThrow();
    expect(() => trustedKeys([])).toThrow();
  });
});

describe('result notification', () => {
  it('says a result is available, in French and English, with a link and no health data', () => {
    const mail = resultAvailableMail('camille@example.org', 'https://saufconduit.example/');
    expect(mail.to).toBe('camille@example.org');
    expect(mail.text).toContain('Un nouveau résultat est disponible');
    expect(mail.text).toContain('A new result is available');
    expect(mail.text).toContain('https://saufconduit.example/patient');
    for (const word of ['positi', 'négati', 'negati', 'antig', 'PCR', 'COVID', 'Pharmacie']) expect(mail.text + mail.subject).not.toContain(word);
    // An offered record is not in the space yet: the mail asks to confirm it, with the same reserve.
    const offered = resultAvailableMail('camille@example.org', 'https://saufconduit.example/', true);
    expect(offered.text).toContain('Connectez-vous pour le confirmer ou le refuser : https://saufconduit.example/patient');
    expect(offered.text).toContain('It is added to your space only if you confirm it.');
    expect(offered.text).not.toContain('disponible dans votre espace');
    for (const word of ['positi', 'négati', 'negati', 'antig', 'PCR', 'COVID', 'Pharmacie']) expect(offered.text + offered.subject).not.toContain(word);
  });
});
