/**
 * A webhook endpoint for tests of `notify` stages: an HTTP server on loopback that records each JSON
 * body it is posted (with the Authorization header it came with) and answers with a chosen status.
 * Starting it lets this process's worker reach its URL, as an operator would, by installing an outbound
 * policy that extends the installed one with the URL and 127.0.0.1; `close()` restores the previous one.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '../../src/core/spec/plan-types';
import { createOutboundPolicy, installOutboundPolicy, outboundPolicy } from '../../src/security/outbound';

export interface WebhookReceiver {
  /** `http://127.0.0.1:PORT/PATH`: what a pipeline's notify stage posts to. */
  readonly url: string;
  /** Every body received so far, in order, each with `authorization` (the header, or null) added. */
  readonly bodies: readonly JsonObject[];
  /** The bodies whose `runId` is this run's. */
  bodiesOf(runId: string): JsonObject[];
  /** The first body of this run: one already received, or the next to come. */
  firstOf(runId: string): Promise<JsonObject>;
  /** The HTTP status later requests are answered with (default 204). */
  respondWith(status: number): void;
  /** Stops the server and reinstalls the outbound policy that was there before. */
  close(): Promise<void>;
}

export async function startWebhookReceiver(urlPath: string): Promise<WebhookReceiver> {
  const bodies: JsonObject[] = [];
  const waiters: { runId: string; resolve: (body: JsonObject) => void }[] = [];
  let status = 204;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject;
      const body: JsonObject = { ...parsed, authorization: request.headers.authorization ?? null };
      bodies.push(body);
      for (const waiter of waiters.filter((w) => w.runId === body.runId)) waiter.resolve(body);
      response.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${urlPath.replace(/^\//, '')}`;
  const previous = outboundPolicy();
  installOutboundPolicy(
    createOutboundPolicy({
      ...previous.config,
      allowUrlPrefixes: [...previous.config.allowUrlPrefixes, url],
      allowAddresses: [...previous.config.allowAddresses, '127.0.0.1'],
    }),
  );
  const bodiesOf = (runId: string): JsonObject[] => bodies.filter((body) => body.runId === runId);
  return {
    url,
    bodies,
    bodiesOf,
    firstOf: (runId) => {
      const [first] = bodiesOf(runId);
      return first ? Promise.resolve(first) : new Promise((resolve) => waiters.push({ runId, resolve }));
    },
    respondWith: (next) => {
      status = next;
    },
    close: async () => {
      installOutboundPolicy(previous);
      server.close();
      server.closeAllConnections();
      await once(server, 'close');
    },
  };
}
