import { expect } from 'vitest';
import { inflateSync } from 'node:zlib';
import { inflateZlib } from '../../src/hcert/inflate.ts';
import { HcertError } from '../../src/hcert/index.ts';

/**
 * node:zlib's verdict and ours on one stream: the same output, or both a rejection (ours a
 * `format` HcertError). `scratch`, when given, is the reused output buffer ours inflates into.
 */
export function agreeWithZlib(z: Uint8Array, max = 1 << 20, scratch?: Uint8Array): void {
  let ref: Uint8Array | 'error';
  try {
    ref = Uint8Array.from(inflateSync(z, { maxOutputLength: max }));
  } catch {
    ref = 'error';
  }
  let ours: Uint8Array | 'error';
  try {
    // A copy: with a scratch buffer the output is a view of it, which the next call overwrites.
    ours = Uint8Array.from(inflateZlib(z, max, scratch));
  } catch (e) {
    expect(e).toBeInstanceOf(HcertError);
    expect((e as HcertError).code).toBe('format');
    ours = 'error';
  }
  expect(ours).toEqual(ref);
}
