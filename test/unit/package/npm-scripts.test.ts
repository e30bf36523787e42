/**
 * `npm run dev:up` and `dev:down` run `fineflow dev up` and `dev down`, one pair: `npm run dev:down` is what the README
 * tells a user to stop the local stack with, also after `fineflow dev up`,
 * which starts the web UI beside Temporal and MinIO. `infra/stack.sh down` stops only those two and left the UI
 * serving (on the stack's UI port, against a stopped stack); `fineflow dev down` stops all three
 * (test/integration/runtime/dev-ui.test.ts checks that command on a real stack).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const manifest = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

test('npm run dev:down stops the stack through fineflow dev down, so the web UI stops too', () => {
  assert.match(manifest.scripts['dev:down'] ?? '', /^node bin\/fineflow\.js dev down$/);
});

test('npm run dev:up is fineflow dev up, so it starts the web UI that dev:down stops (it ran infra/stack.sh up)', () => {
  assert.match(manifest.scripts['dev:up'] ?? '', /^node bin\/fineflow\.js dev up$/);
});
