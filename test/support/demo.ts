import { afterAll, beforeAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openTestApp, type Engine, type TestApp } from './engines.ts';
import { testServer } from './http.ts';
import { seedDemo, demoCredentials, type DemoPrincipal } from '../../src/demo/world.ts';

export interface DemoServer {
  app: TestApp;
  server: FastifyInstance;
  principals: DemoPrincipal[];
  /** A demo principal by its name in the credentials file (`pharmacy-a-staff`, `patient-camille`, …). */
  who(name: string): DemoPrincipal;
}

/**
 * The demo world on a fresh database of `engine`, with its credentials and an in-process server,
 * for the enclosing describe block: set up before its tests, torn down after. Fields are filled in
 * by the time the tests run.
 */
export function useDemoServer(engine: Engine): DemoServer {
  const ctx = {
    who(name: string) {
      const p = ctx.principals.find((x) => x.name === name);
      if (!p) throw new Error(`no demo principal named ${name}`);
      return p;
    },
  } as DemoServer;
  beforeAll(async () => {
    ctx.app = await openTestApp(engine);
    await seedDemo(ctx.app);
    ctx.principals = (await demoCredentials(ctx.app)).principals;
    ctx.server = await testServer(ctx.app);
  });
  afterAll(async () => {
    await ctx.server?.close();
    await ctx.app?.dispose();
  });
  return ctx;
}
