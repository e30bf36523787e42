/**
 * `infra/stack.sh up` (`fineflow dev up`) on a stack that is already up and usable returns at once, saying so; it
 * re-provisioned the MinIO users (binaries resolved, eight mc calls: ~7-10 s) on every call. A change the users depend
 * on (here FINEFLOW_BUCKET) still provisions again. Real servers, on free ports, in a state dir of the test's own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const STACK = path.resolve(__dirname, '../../../infra/stack.sh');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('up on a running, provisioned stack returns at once saying so; a changed bucket provisions again', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-stack-again-'));
  const env: NodeJS.ProcessEnv = { ...process.env, FINEFLOW_STACK_DIR: dir, FINEFLOW_STACK_TIMEOUT: '60' };
  for (const name of [
    'FINEFLOW_TEMPORAL_PORT',
    'FINEFLOW_TEMPORAL_UI_PORT',
    'FINEFLOW_MINIO_PORT',
    'FINEFLOW_MINIO_CONSOLE_PORT',
  ])
    env[name] = String(await freePort());
  delete env.FINEFLOW_BUCKET;
  const up = (extra: NodeJS.ProcessEnv = {}) => {
    const started = Date.now();
    const result = spawnSync('bash', [STACK, 'up'], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 180_000 });
    return { ...result, ms: Date.now() - started };
  };
  try {
    const first = up();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /minio users: fineflow-worker, fineflow-cli/);

    const again = up();
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^Fineflow stack was already running \(state: .*temporal pid \d+, minio pid \d+\):$/m);
    assert.match(again.stdout, /healthy, users provisioned, the CLI user reaches bucket fineflow/);
    assert.doesNotMatch(again.stderr, /minio users:/, 'not provisioned again');
    assert.ok(again.ms < 4_000, `took ${again.ms} ms`);

    const otherBucket = up({ FINEFLOW_BUCKET: 'fineflow-again' });
    assert.equal(otherBucket.status, 0, otherBucket.stderr);
    assert.match(otherBucket.stderr, /minio users: .*bucket fineflow-again/, 'a changed bucket is provisioned');
  } finally {
    spawnSync('bash', [STACK, 'down'], { env, encoding: 'utf8', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  }
});
