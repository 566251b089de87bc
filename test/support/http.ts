import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/http/server.ts';
import type { App } from '../../src/app.ts';
import type { Writable } from 'node:stream';

/** An in-process server (fastify inject: real routing, hooks and serialisation, no socket). */
export async function testServer(app: App, logStream?: Writable): Promise<FastifyInstance> {
  const server = await buildServer(app, logStream ? { logStream } : {});
  await server.ready();
  return server;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
