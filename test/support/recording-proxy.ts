import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedExchange {
  method: string;
  path: string;
  /** As the client sent them (lowercased names). */
  headers: IncomingHttpHeaders;
  body: string;
  /** What the target answered. */
  status: number;
  reply: string;
}

export interface RecordingProxy {
  url: string;
  /** Every request passed on, with the target's answer, in order. */
  readonly exchanges: ProxiedExchange[];
  close(): Promise<void>;
}

/**
 * A plain HTTP proxy on 127.0.0.1 in front of `target` (e.g. DynamoDB Local):
 * each request goes on unchanged, and the request and the answer are recorded.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  const exchanges: ProxiedExchange[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the client gave up (e.g. its request timeout) before sending it all
    }
    const body = Buffer.concat(chunks);
    const upstream = httpRequest(
      { hostname: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      async (answer) => {
        const replyChunks: Buffer[] = [];
        try {
          for await (const chunk of answer) replyChunks.push(chunk as Buffer);
        } catch {
          res.destroy();
          return;
        }
        const reply = Buffer.concat(replyChunks);
        exchanges.push({
          method: String(req.method),
          path: String(req.url),
          headers: req.headers,
          body: body.toString('utf8'),
          status: answer.statusCode ?? 0,
          reply: reply.toString('utf8'),
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(reply);
      },
    );
    upstream.once('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    upstream.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
