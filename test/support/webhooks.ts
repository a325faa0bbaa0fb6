import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stack } from './stack.js';

/** A signing secret of the shared stack's sources. */
export const sourceSecret = (source: string): string =>
  (JSON.parse(stack().env.SIGNUP_SOURCES as string) as Record<string, { secret: string }>)[source]!.secret;

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1. `respond` picks the status of each
 * request (given how many requests came for that event id before).
 */
export const startReceiver = async (respond: (eventId: string, previous: number) => number = () => 204) => {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const eventId = String(req.headers['x-event-id'] ?? '');
      const previous = received.filter((r) => r.headers['x-event-id'] === eventId).length;
      const status = respond(eventId, previous);
      received.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    /** Requests about one event id (every attempt). */
    attemptsFor: (eventId: string) => received.filter((r) => r.headers['x-event-id'] === eventId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
