import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors/catalogue.ts';

const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{8,128}$/);

/** The request's `Idempotency-Key` header (retries of a write are answered with the first outcome), or null. */
export function idempotencyKeyOf(req: FastifyRequest): string | null {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return null;
  const key = IdempotencyKey.safeParse(raw);
  if (!key.success) throw new AppError('invalid_request', [{ path: 'headers.idempotency-key', code: 'invalid_format' }]);
  return key.data;
}
