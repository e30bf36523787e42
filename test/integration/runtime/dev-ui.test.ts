/**
 * The web UI `fineflow dev up` starts beside the stack (src/cli/dev-ui.ts), against the test stack:
 * a real `fineflow ui` process in the background on 127.0.0.1 only, answering its API; a second
 * `up` reuses it; status reports it; `down` stops it; a record naming a process that is not our
 * UI never gets that process killed; the S3 secret reaches neither the record nor the log.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { devUiStatus, startDevUi, stopDevUi } from '../../../src/cli/dev-ui';
import { freePort } from '../../helpers/free-port';

// Not a fixed port: another checkout's run of this file on the same machine held 11732, and `up` then failed (or
// found that run's UI answering on it).
let port = 0;
const stackDir = mkdtempSync(path.join(tmpdir(), 'fineflow-dev-ui-'));
const REPO = path.resolve(__dirname, '../../..');

before(async () => {
  port = await freePort();
});
after(async () => {
  await stopDevUi(stackDir);
  rmSync(stackDir, { recursive: true, force: true });
});

/** Running (a zombie not yet reaped by this test process, the UI's parent here, counts as ended). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('dev up starts the UI on loopback, reuses it, and dev down stops it', async () => {
  const secret = process.env.FINEFLOW_S3_SECRET_KEY;
  assert.ok(secret, 'the test stack exports the CLI user secret');
  const options = { stackDir, port, env: process.env, temporalUiUrl: 'http://127.0.0.1:8470', cwd: REPO };
  const started = await startDevUi(options);
  assert.equal(started.started, true);
  assert.equal(started.url, `http://127.0.0.1:${port}`);
  assert.ok(started.pid !== undefined && alive(started.pid));

  const runs = await fetch(`${started.url}/api/runs`);
  assert.equal(runs.status, 200, 'the API answers on loopback without a token');
  assert.ok(Array.isArray(((await runs.json()) as { runs?: unknown }).runs));
  const otherAddress = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (otherAddress) {
    await assert.rejects(
      fetch(`http://${otherAddress}:${port}/healthz`, { signal: AbortSignal.timeout(5_000) }),
      'nothing listens beyond loopback',
    );
  }

  const again = await startDevUi(options);
  assert.equal(again.started, false, 'a second up reuses the running UI');
  assert.equal(again.pid, started.pid);
  assert.deepEqual(await devUiStatus(stackDir, port), { url: started.url, running: true, pid: started.pid });
  for (const file of ['ui.json', 'logs/ui.log'])
    assert.ok(!readFileSync(path.join(stackDir, file), 'utf8').includes(secret), `${file} holds no secret`);

  assert.equal(await stopDevUi(stackDir), true);
  assert.equal(alive(started.pid), false, 'the UI process is gone');
  assert.equal((await devUiStatus(stackDir, port)).running, false);
  assert.equal(await stopDevUi(stackDir), false, 'nothing left to stop');
});

test('a record naming another process (a reused pid) is not killed', async () => {
  writeFileSync(
    path.join(stackDir, 'ui.json'),
    JSON.stringify({ pid: process.pid, port, url: `http://127.0.0.1:${port}` }),
  );
  assert.equal((await devUiStatus(stackDir, port)).running, false);
  assert.equal(await stopDevUi(stackDir), false);
  assert.ok(alive(process.pid));
});

test('a port another program holds is refused naming it and its variable, even when that program answers /healthz', async () => {
  // Another checkout's UI answers /healthz with 200 too: `up` used to take it for its own and report the UI up.
  const other = createServer((_request, response) => response.writeHead(200).end('{"ok":true}'));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const held = (other.address() as AddressInfo).port;
  try {
    const options = { stackDir, port: held, env: process.env, temporalUiUrl: 'http://127.0.0.1:8470', cwd: REPO };
    await assert.rejects(startDevUi(options), (error: Error) => {
      assert.match(error.message, new RegExp(`^port ${held} \\(FINEFLOW_UI_PORT\\) is held by another program`));
      assert.match(error.message, /set FINEFLOW_UI_PORT to a free port/);
      return true;
    });
    await assert.rejects(startDevUi({ ...options, portVariable: 'FINEFLOW_TEST_UI_PORT' }), /FINEFLOW_TEST_UI_PORT/);
    assert.equal((await devUiStatus(stackDir, held)).running, false, 'no record of a UI was written');
    assert.ok(other.listening, 'the other program is left alone');
  } finally {
    await new Promise((resolve) => other.close(resolve));
  }
});
