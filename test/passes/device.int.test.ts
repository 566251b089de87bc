import { describe, expect, it } from 'vitest';
import { inflateSync } from 'node:zlib';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { decodeBase45 } from '../../src/hcert/base45.ts';
import { parseCoseSign1 } from '../../src/hcert/cose.ts';
import { parseCwtClaims } from '../../src/hcert/cwt.ts';
import { DEFAULT_LIMITS } from '../../src/hcert/limits.ts';

const CBOR = { maxDepth: DEFAULT_LIMITS.maxCborDepth, maxItems: DEFAULT_LIMITS.maxCborItems };
/** The DCC inside a pass (not verified here: the verifier's tests do that). */
const dccOf = (hc1: string) => parseCwtClaims(parseCoseSign1(inflateSync(decodeBase45(hc1.slice(4), 1 << 16)), CBOR).payload, CBOR).dcc as { t: { ma?: string; tt: string }[] };

/**
 * The antigen test actually used (pages issue, point 13): staff or API clients name the device from
 * the EU common list; the result keeps it sealed; the test pass carries it. A result without a device
 * (recorded before) gives no antigen pass rather than naming a device nobody chose.
 */
describe.each(ENGINES)('antigen test devices on %s', (engine) => {
  const demo = useDemoServer(engine);
  const record = (payload: object) => {
    const staff = demo.who('pharmacy-a-staff');
    return demo.server.inject({ method: 'POST', url: `/api/patients/${staff.canAccess.patientId[0]}/results`, headers: staff.headers, payload });
  };
  const sampledAt = () => new Date(Date.now() - 600_000).toISOString();

  it('an antigen result names its device from the EU list; a PCR names none', async () => {
    const cases: [object, string][] = [
      [{ testType: 'antigen', outcome: 'negative', sampledAt: sampledAt() }, 'device-required'],
      [{ testType: 'antigen', device: '999999', outcome: 'negative', sampledAt: sampledAt() }, 'unknown-device'],
      [{ testType: 'pcr', device: '1232', outcome: 'negative', sampledAt: sampledAt() }, 'device-for-antigen-only'],
    ];
    for (const [payload, code] of cases) {
      const res = await record(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.issues).toEqual([{ path: 'body.device', code }]);
    }
    const ok = await record({ testType: 'antigen', device: '1468', outcome: 'negative', sampledAt: sampledAt() });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ device: '1468', deviceName: 'ACON Laboratories, Inc, Flowflex SARS-CoV-2 Antigen rapid test' });
    // Sealed like the test type: the column does not show it.
    const [row] = await demo.app.db.query<{ device_enc: string }>('SELECT device_enc FROM test_result WHERE id = $1', [ok.json().id]);
    expect(row!.device_enc).not.toContain('1468');
    const pass = await demo.server.inject({ method: 'POST', url: `/api/results/${ok.json().id}/passes`, headers: demo.who('pharmacy-a-staff').headers, payload: { kind: 'test' } });
    expect(pass.statusCode, pass.body).toBe(201);
    expect(dccOf(pass.json().hc1).t[0]).toMatchObject({ ma: '1468', tt: 'LP217198-3' });
  });

  it('an antigen result recorded without a device gives no pass naming one', async () => {
    const ok = await record({ testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: sampledAt() });
    // As a result recorded before devices were asked.
    await demo.app.db.query('UPDATE test_result SET device_enc = NULL WHERE id = $1', [ok.json().id]);
    const pass = await demo.server.inject({ method: 'POST', url: `/api/results/${ok.json().id}/passes`, headers: demo.who('pharmacy-a-staff').headers, payload: { kind: 'test' } });
    expect(pass.statusCode).toBe(409);
    expect(pass.json().error.issues).toEqual([{ path: 'result.device', code: 'device-unknown' }]);
  });
});
