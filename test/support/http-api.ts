import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { HttpHandler } from '#lib/http/handler';
import { ROOT } from '../../local/state.ts';
import { apiEvent } from './event.ts';
import { serverlessRoutes } from './routes.ts';
import type { TestDeps } from './stack.ts';

export interface HttpApi {
  url: string;
  /** "METHOD /path" of every request received, in order. */
  readonly received: string[];
  close(): Promise<void>;
}

/**
 * The real handlers behind real HTTP, for clients that need a URL (the
 * mini-program client): each request becomes an API Gateway HTTP API (v2)
 * event for the handler that serverless.yml routes it to, built on the given
 * deps. A route serverless.yml does not have gets API Gateway's own 404.
 */
export async function startHttpApi(deps: TestDeps): Promise<HttpApi> {
  const handlers = new Map<string, HttpHandler>();
  for (const { route, entry } of serverlessRoutes()) {
    const module = (await import(`${ROOT}${entry}`)) as { createHandler: (deps: TestDeps) => HttpHandler };
    handlers.set(route, module.createHandler(deps));
  }
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://api');
      const route = `${req.method} ${url.pathname}`;
      received.push(route);
      const body = await readBody(req);
      const handler = handlers.get(route);
      if (!handler) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
      const result = await handler(
        apiEvent({
          method: req.method ?? 'GET',
          path: url.pathname,
          headers,
          query: Object.fromEntries(url.searchParams),
          // API Gateway hands a binary body (multipart/form-data: wx.uploadFile) over base64-encoded, any other as text.
          ...(body.length === 0 ? {} : { body: /^multipart\//i.test(headers['content-type'] ?? '') ? body : body.toString('utf8') }),
        }),
      );
      res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>).end(result.body ?? '');
    })().catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
