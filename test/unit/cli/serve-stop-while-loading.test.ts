/**
 * `fineflow serve` stopped (SIGTERM) while its model loads from a store that never answers: the load is aborted (the
 * store's connection closes), the server closes its listener, and the command returns 0 through its normal close
 * path. Before, the load could not be aborted and serve ended the whole process with `process.exit(0)`, which killed
 * an in-process caller and left the listener to the operating system.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { it } from 'node:test';
import { EXIT } from '../../../src/cli/command';
import { main } from '../../../src/cli/main';
import { captureIo } from '../../helpers/cli';
import { loadConfig } from '../../../src/config';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

it(
  'SIGTERM during the load aborts it and closes the listener; the command returns 0, no process.exit',
  { timeout: 60_000 },
  async () => {
    // A store that accepts connections and never answers.
    const sockets: Socket[] = [];
    let connected!: () => void;
    const firstConnection = new Promise<void>((resolve) => (connected = resolve));
    const store: Server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      connected();
    });
    await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
    const storePort = (store.address() as { port: number }).port;
    const exit = process.exit;
    const exitCalls: unknown[] = [];
    process.exit = ((code?: number) => {
      exitCalls.push(code);
      throw new Error(`process.exit(${code}) called`);
    }) as typeof process.exit;
    const ours = (): ((...args: unknown[]) => void)[] =>
      process.listeners('SIGTERM').filter((listener) => !before.has(listener)) as ((...args: unknown[]) => void)[];
    const before = new Set(process.listeners('SIGTERM'));
    try {
      const env = {
        ...process.env,
        FINEFLOW_S3_ENDPOINT: `http://127.0.0.1:${storePort}`,
        FINEFLOW_CODEC: 'off',
        FINEFLOW_TF_BACKEND: 'cpu',
      };
      const captured = captureIo(env);
      const ran = main(['serve', 's3://fineflow/runs/R/finetune/model', '--port', '0'], captured.io);
      await firstConnection;
      const url = /fineflow serve: (http:\/\/\S+) \(loading/.exec(captured.output().stderr)?.[1];
      assert.ok(url, captured.output().stderr);
      const port = Number(new URL(url).port);
      assert.equal(await refused(port), false, 'serve listens while it loads');
      const handlers = ours();
      assert.equal(handlers.length, 1, 'serve handles SIGTERM while loading');
      for (const handler of handlers) handler('SIGTERM');
      assert.equal(await ran, EXIT.ok, captured.output().stderr);
      assert.deepEqual(exitCalls, []);
      assert.match(
        captured.output().stderr,
        /fineflow serve: stopped while loading s3:\/\/fineflow\/runs\/R\/finetune\/model/,
      );
      assert.equal(await refused(port), true, 'the listener is closed');
      assert.deepEqual(ours(), [], 'no signal handler is left behind');
    } finally {
      process.exit = exit;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => store.close(resolve));
    }
  },
);

it(
  'a store made with a signal closes its connections when it aborts: a call waiting on a silent server fails',
  { timeout: 20_000 },
  async () => {
    let closed!: () => void;
    const socketClosed = new Promise<void>((resolve) => (closed = resolve));
    let connected!: () => void;
    const firstConnection = new Promise<void>((resolve) => (connected = resolve));
    const silent = createServer((socket) => {
      socket.resume();
      socket.on('error', () => undefined);
      socket.once('close', closed);
      connected();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const config = loadConfig({
        ...process.env,
        FINEFLOW_S3_ENDPOINT: `http://127.0.0.1:${port}`,
        FINEFLOW_CODEC: 'off',
      });
      const aborting = new AbortController();
      const store = createObjectStoreFromConfig(config, { signal: aborting.signal });
      const stat = store.stat('s3://fineflow/runs/R/finetune/model/model.json');
      await firstConnection;
      aborting.abort(new Error('serve stopped'));
      await assert.rejects(stat, /object store closed: Error: serve stopped/);
      await socketClosed;
      await assert.rejects(store.stat('s3://fineflow/other.json'), /object store closed/, 'later calls fail at once');
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  },
);
