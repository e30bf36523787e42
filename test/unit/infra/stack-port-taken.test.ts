/**
 * `infra/stack.sh up` (`fineflow dev up`) with one of its ports held by another program fails before it starts or
 * builds anything, naming the port and its variable. Before, MinIO was started, Temporal failed only after its
 * start-up with a log line naming neither the port nor the variable ("Specified port is already in use" for MinIO),
 * and the other server was left running. Also: `status` of a stack that is not running says so (it said "not healthy").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const STACK = path.resolve(__dirname, '../../../infra/stack.sh');

async function listen(): Promise<Server> {
  // Accepts and hangs up at once: a program on the port that is no Temporal or MinIO.
  const server = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

async function freePort(): Promise<number> {
  const server = await listen();
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

for (const taken of ['FINEFLOW_TEMPORAL_PORT', 'FINEFLOW_MINIO_CONSOLE_PORT'] as const) {
  test(`up with ${taken} held by another program fails at once, naming the port and the variable`, async () => {
    const holder = await listen();
    const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-stack-port-'));
    const env: NodeJS.ProcessEnv = { ...process.env, FINEFLOW_STACK_DIR: dir, FINEFLOW_STACK_TIMEOUT: '20' };
    // As a user runs it: not the markers scripts/test.sh exports for its own stack (they rename the variables).
    delete env.FINEFLOW_STACK_PORT_VARIABLES;
    delete env.FINEFLOW_STACK_UP_COMMAND;
    for (const name of [
      'FINEFLOW_TEMPORAL_PORT',
      'FINEFLOW_TEMPORAL_UI_PORT',
      'FINEFLOW_MINIO_PORT',
      'FINEFLOW_MINIO_CONSOLE_PORT',
    ])
      env[name] = String(name === taken ? portOf(holder) : await freePort());
    try {
      const up = spawnSync('bash', [STACK, 'up'], { env, encoding: 'utf8', timeout: 120_000 });
      assert.notEqual(up.status, 0, up.stderr);
      assert.match(
        up.stderr,
        new RegExp(
          `port ${portOf(holder)} \\(${taken}\\) on 127\\.0\\.0\\.1 is in use by another program.*; stop it, or pick a free port: ${taken}=<port> fineflow dev up`,
        ),
      );
      for (const service of ['minio', 'temporal'])
        assert.equal(existsSync(path.join(dir, `${service}.pid`)), false, `${service} was not started`);
    } finally {
      spawnSync('bash', [STACK, 'down'], { env, encoding: 'utf8', timeout: 60_000 });
      holder.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the test stack’s port message names FINEFLOW_TEST_*_PORT and its command (was FINEFLOW_*_PORT, fineflow dev up)', async () => {
  // As scripts/test.sh and the bench call the script: their own variables set FINEFLOW_*_PORT.
  const holder = await listen();
  const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-stack-port-vars-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FINEFLOW_STACK_DIR: dir,
    FINEFLOW_STACK_PORT_VARIABLES: 'FINEFLOW_TEST_',
    FINEFLOW_STACK_UP_COMMAND: 'bash scripts/test.sh …',
    FINEFLOW_MINIO_PORT: String(portOf(holder)),
    FINEFLOW_MINIO_CONSOLE_PORT: String(await freePort()),
  };
  try {
    const up = spawnSync('bash', [STACK, 'up', 'minio'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(up.status, 0, up.stderr);
    assert.match(
      up.stderr,
      new RegExp(
        `port ${portOf(holder)} \\(FINEFLOW_TEST_MINIO_PORT\\) on 127\\.0\\.0\\.1 is in use .* pick a free port: ` +
          `FINEFLOW_TEST_MINIO_PORT=<port> bash scripts/test\\.sh …`,
      ),
    );
    assert.doesNotMatch(up.stderr, /FINEFLOW_MINIO_PORT|fineflow dev up/);
    const bad = spawnSync('bash', [STACK, 'status'], {
      env: { ...env, FINEFLOW_STACK_PORT_VARIABLES: 'TEMPORAL_' },
      encoding: 'utf8',
    });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /FINEFLOW_STACK_PORT_VARIABLES: expected FINEFLOW_ or FINEFLOW_<WORD>_/);
  } finally {
    holder.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('status of a stack that is not running says not running and how to start it (was "not healthy at")', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-stack-status-'));
  const env: NodeJS.ProcessEnv = { ...process.env, FINEFLOW_STACK_DIR: dir };
  env.FINEFLOW_TEMPORAL_PORT = String(await freePort());
  env.FINEFLOW_MINIO_PORT = String(await freePort());
  try {
    const status = spawnSync('bash', [STACK, 'status'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(status.status, 1, status.stderr);
    assert.match(
      status.stdout,
      new RegExp(
        `^temporal: not running \\(nothing answers at 127\\.0\\.0\\.1:${env.FINEFLOW_TEMPORAL_PORT}\\); start the stack with \`fineflow dev up\`$`,
        'm',
      ),
    );
    assert.match(status.stdout, /^minio: not running \(nothing answers at http:\/\/127\.0\.0\.1:\d+\)/m);
    assert.doesNotMatch(status.stdout, /not healthy/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
