import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A reverse proxy as load balancers behave: it forwards every request to `target` and appends the
 * address of the peer it saw to `X-Forwarded-For`, keeping whatever the client wrote there before.
 */
export async function appendingProxy(target: { host: string; port: number }, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const prior = req.headers['x-forwarded-for'];
    const forwarded = [prior, req.socket.remoteAddress].filter(Boolean).join(', ');
    const upstream = request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': forwarded } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** One HTTP request from a chosen local address (127.0.0.x on Linux), answering status and body. */
export function send(opts: { port: number; path: string; method?: string; headers?: Record<string, string>; body?: string; localAddress?: string }): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: opts.port, path: opts.path, method: opts.method ?? 'GET', localAddress: opts.localAddress,
      headers: { ...(opts.body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
