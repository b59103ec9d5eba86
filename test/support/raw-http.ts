import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';

/**
 * A TCP server on 127.0.0.1 that answers each HTTP request with whatever bytes
 * `respond` writes, including things an HTTP library would not let a server
 * do: headers and then silence, half a body and then a closed socket.
 */
export interface RawHttpServer {
  url: string;
  /** Requests received (their first line). */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startRawHttpServer(respond: (socket: Socket, requestLine: string) => void): Promise<RawHttpServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (chunk) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const requestLine = head.slice(0, head.indexOf('\r\n'));
      requests.push(requestLine);
      respond(socket, requestLine);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
