/**
 * `fineflow dev status` in a new shell (src/cli/commands/dev.ts): after `FINEFLOW_MINIO_PORT=… fineflow dev up`, a
 * shell without those variables checked 7233 / 9000 and said the stack was not running, while it ran on the ports the
 * first shell had set. `dev up` records its ports in the state dir; a shell that does not set a port variable uses the
 * recorded one, and one that sets it keeps its own. A MinIO health endpoint stands in for MinIO (stack.sh probes
 * `/minio/health/live`); Temporal's port is one nothing listens on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { recordStackPorts, stackPortsFile, withRecordedPorts } from '../../../src/cli/commands/dev';
import { freePort } from '../../helpers/free-port';
import { runCli } from '../../helpers/cli';

/** A shell's environment with no FINEFLOW_*_PORT (the test runner's own stack sets them). */
function newShell(stackDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), FINEFLOW_STACK_DIR: stackDir, ...extra };
}

test('dev status in a shell without the port variables finds the stack on the ports dev up recorded', async (t) => {
  const stackDir = mkdtempSync(path.join(tmpdir(), 'fineflow-dev-ports-'));
  t.after(() => rmSync(stackDir, { recursive: true, force: true }));
  const minio = createServer((request, response) =>
    response.writeHead(request.url === '/minio/health/live' ? 200 : 404).end(),
  );
  await new Promise<void>((resolve) => minio.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => minio.close(resolve)));
  const minioPort = (minio.address() as AddressInfo).port;
  const temporalPort = await freePort();
  const uiPort = await freePort();
  // What `FINEFLOW_MINIO_PORT=<minioPort> FINEFLOW_TEMPORAL_PORT=<temporalPort> … fineflow dev up` leaves behind.
  recordStackPorts(
    newShell(stackDir, {
      FINEFLOW_TEMPORAL_PORT: String(temporalPort),
      FINEFLOW_TEMPORAL_UI_PORT: '18102',
      FINEFLOW_MINIO_PORT: String(minioPort),
      FINEFLOW_MINIO_CONSOLE_PORT: '18104',
      FINEFLOW_UI_PORT: String(uiPort),
    }),
    stackDir,
  );
  assert.deepEqual(JSON.parse(readFileSync(stackPortsFile(stackDir), 'utf8')), {
    FINEFLOW_TEMPORAL_PORT: temporalPort,
    FINEFLOW_TEMPORAL_UI_PORT: 18102,
    FINEFLOW_MINIO_PORT: minioPort,
    FINEFLOW_MINIO_CONSOLE_PORT: 18104,
    FINEFLOW_UI_PORT: uiPort,
  });

  const status = await runCli(['dev', 'status'], { env: newShell(stackDir), exactEnv: true });
  assert.match(status.stdout, new RegExp(`minio: healthy at http://127\\.0\\.0\\.1:${minioPort} `), status.stdout);
  assert.match(
    status.stdout,
    new RegExp(`temporal: not running \\(nothing answers at 127\\.0\\.0\\.1:${temporalPort}\\)`),
  );
  assert.match(status.stdout, new RegExp(`UI +http://127\\.0\\.0\\.1:${uiPort} `));
  assert.match(
    status.stdout,
    /ports as `fineflow dev up` recorded them in .*ports\.json \(this shell sets no FINEFLOW_\*_PORT\)/,
  );
  assert.doesNotMatch(status.stdout, /:9000|:7233/);

  const json = await runCli(['dev', 'status', '--json'], { env: newShell(stackDir), exactEnv: true });
  const reported = JSON.parse(json.stdout) as { env: Record<string, string>; minio: { console: string } };
  assert.equal(reported.env.TEMPORAL_ADDRESS, `127.0.0.1:${temporalPort}`);
  assert.equal(reported.env.FINEFLOW_S3_ENDPOINT, `http://127.0.0.1:${minioPort}`);
  assert.equal(reported.minio.console, 'http://127.0.0.1:18104');
});

test('a port variable the shell sets wins over the record; a damaged record adds nothing', (t) => {
  const stackDir = mkdtempSync(path.join(tmpdir(), 'fineflow-dev-ports-'));
  t.after(() => rmSync(stackDir, { recursive: true, force: true }));
  writeFileSync(stackPortsFile(stackDir), JSON.stringify({ FINEFLOW_TEMPORAL_PORT: 17000, FINEFLOW_MINIO_PORT: 'x' }));
  const { env, recorded } = withRecordedPorts({ FINEFLOW_MINIO_PORT: '19000' }, stackDir);
  assert.deepEqual(recorded, ['FINEFLOW_TEMPORAL_PORT']);
  assert.equal(env.FINEFLOW_TEMPORAL_PORT, '17000');
  assert.equal(env.FINEFLOW_MINIO_PORT, '19000');
  writeFileSync(stackPortsFile(stackDir), '{not json');
  assert.deepEqual(withRecordedPorts({}, stackDir).recorded, []);
  rmSync(stackPortsFile(stackDir));
  assert.deepEqual(withRecordedPorts({}, stackDir), { env: {}, recorded: [] });
});
