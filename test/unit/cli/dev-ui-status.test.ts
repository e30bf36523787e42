/**
 * `fineflow dev status`'s UI line (src/cli/dev-ui.ts, src/cli/commands/dev.ts): with no UI of `dev up` running, a port
 * another program holds (a `fineflow ui` started by hand answers there too) is said, since `dev up` would refuse it;
 * the line said "not running (fineflow dev up starts it)" while a UI answered at that very URL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { devUiStatusText } from '../../../src/cli/commands/dev';
import { devUiStatus } from '../../../src/cli/dev-ui';
import { freePort } from '../../helpers/free-port';

test("dev status says another program holds the UI's port, and that nothing runs when the port is free", async (t) => {
  const stackDir = mkdtempSync(path.join(tmpdir(), 'fineflow-dev-ui-status-'));
  t.after(() => rmSync(stackDir, { recursive: true, force: true }));
  const other = createServer((_request, response) => response.writeHead(200).end('{"ok":true}'));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => other.close(resolve)));
  const held = (other.address() as AddressInfo).port;

  const status = await devUiStatus(stackDir, held);
  assert.deepEqual(status, { url: `http://127.0.0.1:${held}`, running: false, portHeld: true });
  assert.equal(
    devUiStatusText(status, held),
    `not started by \`fineflow dev up\`: another program (a \`fineflow ui\` you started?) holds port ${held}, where ` +
      '`dev up` would start it; stop that program, or set FINEFLOW_UI_PORT to a free port',
  );

  const free = await freePort();
  const idle = await devUiStatus(stackDir, free);
  assert.deepEqual(idle, { url: `http://127.0.0.1:${free}`, running: false });
  assert.equal(devUiStatusText(idle, free), 'not running (fineflow dev up starts it)');
  assert.equal(devUiStatusText({ url: idle.url, running: true, pid: 1 }, free), 'up');
});
