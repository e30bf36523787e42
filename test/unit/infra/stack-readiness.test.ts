/**
 * `requireStack` (test/helpers/stack.ts), which every integration test file calls first: a stack that
 * is only slow to answer (MinIO's health check failing its first tries on a loaded machine) is
 * waited for, up to a bound; one that never answers fails, naming it, once the bound has passed.
 * Local servers on ephemeral ports stand in for Temporal (a TCP listener) and MinIO (its health URL).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { requireStack, stackConfig } from '../../helpers/stack';

let temporal: ReturnType<typeof createTcpServer>;
before(async () => {
  temporal = createTcpServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
  await once(temporal, 'listening');
});
after(() => temporal.close());

/** A MinIO health endpoint answering 503 to its first `busyAnswers` requests, then 200 (never, with Infinity). */
async function minioHealth(busyAnswers: number): Promise<{ server: Server; port: number; asked: () => number }> {
  let asked = 0;
  const server = createHttpServer((request, response) => {
    asked += 1;
    response.statusCode = request.url === '/minio/health/live' && asked > busyAnswers ? 200 : 503;
    response.end();
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, asked: () => asked };
}

function configFor(minioPort: number) {
  return stackConfig({
    TEMPORAL_ADDRESS: `127.0.0.1:${(temporal.address() as AddressInfo).port}`,
    FINEFLOW_S3_ENDPOINT: `http://127.0.0.1:${minioPort}`,
  });
}

test('a MinIO that fails its first health checks is waited for, not reported missing', async () => {
  const minio = await minioHealth(3);
  try {
    await requireStack(configFor(minio.port), 20_000);
    assert.equal(minio.asked(), 4, 'asked again until it answered');
  } finally {
    minio.server.close();
  }
});

test('a MinIO that never answers fails once the bound has passed, naming it', async () => {
  const minio = await minioHealth(Infinity);
  try {
    const started = Date.now();
    await assert.rejects(
      requireStack(configFor(minio.port), 1_000),
      /but MinIO at http:\/\/127\.0\.0\.1:\d+ did not answer within 1 s/,
    );
    assert.ok(Date.now() - started >= 1_000, 'not before the bound');
    assert.ok(minio.asked() >= 2, `asked ${minio.asked()} times`);
  } finally {
    minio.server.close();
  }
});
