/**
 * The zlib layer of HCERT (spec §3.2: the CWT is zlib-compressed). The header is checked here so a
 * non-zlib payload is rejected before anything inflates it; the inflate itself is the core's
 * bounded pure decoder (`inflate.ts`), unless the backend supplies its own.
 */
import type { HcertBackend } from './backend.ts';
import { HcertError, formatError } from './errors.ts';
import { inflateZlib } from './inflate.ts';

/**
 * Inflate `data`, producing at most `maxOutput` bytes. Throws `format` for a bad header, a corrupt
 * or truncated stream, or output beyond the limit (`zlib-output-limit`). With `scratch`, the pure
 * inflater writes into it (the result is then a view of it) while it is large enough.
 */
export function inflateBounded(backend: HcertBackend, data: Uint8Array, maxOutput: number, scratch?: Uint8Array): Uint8Array {
  // RFC 1950 §2.2: CM must be 8 (deflate), CINFO ≤ 7, FCHECK makes CMF·256+FLG a multiple of 31,
  // and FDICT must be clear (HCERT never uses a preset dictionary).
  if (data.length < 6) throw formatError('zlib-truncated');
  const cmf = data[0]!;
  const flg = data[1]!;
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || flg & 0x20) throw formatError('zlib-header');
  try {
    return backend.inflate ? backend.inflate(data, maxOutput) : inflateZlib(data, maxOutput, scratch);
  } catch (err) {
    if (err instanceof HcertError) throw err;
    throw formatError('zlib-data');
  }
}
