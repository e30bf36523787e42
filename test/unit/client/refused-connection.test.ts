/**
 * A Temporal address nothing listens on fails at once, with the address and the fix; a server that
 * accepts but does not answer is left to the SDK's connect and its retries.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config';
import { connectClient, connectWorker, nothingListensAt } from '../../../src/client/temporal-connection';

async function listening(host: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket); // accept and say nothing: a server that is slow to answer
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, port: address.port, sockets };
}

/** A port that was just free on 127.0.0.1: listened on, then closed. */
async function closedPort(): Promise<number> {
  const { server, port } = await listening('127.0.0.1');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a refused Temporal address fails at once, naming the address, the refusal and the fix', async () => {
  const port = await closedPort();
  const address = `127.0.0.1:${port}`;
  const started = performance.now();
  await assert.rejects(connectClient({ address, namespace: 'default', codec: { mode: 'off' } }), (error: Error) => {
    assert.equal(error.name, 'DependencyUnavailableError');
    assert.match(error.message, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(namespace default\\)`));
    assert.match(error.message, /nothing listens there \(connection refused\)/);
    assert.match(error.message, /fineflow dev up`, or set TEMPORAL_ADDRESS/);
    return true;
  });
  // The SDK alone retries until its 10 s connect deadline, so before this fix the call could not end
  // sooner than 10 s; the refusal takes one local TCP round trip. 5 s is far above that even on a
  // loaded CI and still below the deadline, so this cannot pass on the old behaviour.
  assert.ok(performance.now() - started < 5_000, `took ${Math.round(performance.now() - started)} ms`);
});

test('only an address where every connection is refused counts as nothing listening', async () => {
  const port = await closedPort();
  assert.equal(await nothingListensAt(`127.0.0.1:${port}`, {}), true);
  assert.equal(await nothingListensAt(`127.0.0.1:${port}`, { https_proxy: 'http://proxy:3128' }), false, 'via a proxy');
  assert.equal(await nothingListensAt('no-such-host.invalid:7233', {}), false, 'left to the SDK');

  const silent = await listening('127.0.0.1');
  try {
    assert.equal(await nothingListensAt(`127.0.0.1:${silent.port}`, {}), false, 'a silent server keeps the retries');
    // localhost may resolve to ::1 as well, where nothing listens: one refusal is not enough.
    assert.equal(await nothingListensAt(`localhost:${silent.port}`, {}), false);
  } finally {
    for (const socket of silent.sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.server.close(() => resolve()));
  }
});

test("a worker against a refused address fails at once with the same message, not the core's", async () => {
  const port = await closedPort();
  const config = loadConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${port}`, FINEFLOW_CODEC: 'off' }).temporal;
  const started = performance.now();
  await assert.rejects(connectWorker(config), (error: Error & { details?: unknown }) => {
    assert.equal(error.name, 'DependencyUnavailableError');
    assert.match(
      error.message,
      new RegExp(`^cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(namespace default\\)`),
    );
    assert.match(error.message, /nothing listens there \(connection refused\)/);
    assert.match(error.message, new RegExp(`TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${port} chose it: start the local stack`));
    // The Rust core's own text (tonic::transport::Error(… ConnectError …)) is for developers, not operators.
    assert.doesNotMatch(error.message, /tonic|ConnectError|Os \{/);
    assert.deepEqual(error.details, { address: `127.0.0.1:${port}`, variable: 'TEMPORAL_ADDRESS' });
    return true;
  });
  assert.ok(performance.now() - started < 5_000, `took ${Math.round(performance.now() - started)} ms`);
});

test('with TEMPORAL_ADDRESS unset, the refusal says the default was tried and which variable to set', async () => {
  const port = await closedPort();
  // The default address is fixed (127.0.0.1:7233), where something may listen on this machine: give the
  // refused address but mark it as the default, as loadConfig does when the variable is unset.
  const config = { ...loadConfig({ FINEFLOW_CODEC: 'off' }).temporal, address: `127.0.0.1:${port}` };
  assert.equal(config.addressFrom, 'default');
  for (const connect of [connectClient, connectWorker])
    await assert.rejects(connect(config), (error: Error) => {
      assert.match(error.message, /nothing listens there/);
      assert.match(
        error.message,
        new RegExp(`TEMPORAL_ADDRESS is not set, so the default 127\\.0\\.0\\.1:${port} was tried`),
      );
      assert.match(error.message, /set TEMPORAL_ADDRESS to your Temporal frontend's host:port\.$/);
      return true;
    });
});
