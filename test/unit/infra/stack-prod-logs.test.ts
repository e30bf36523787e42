/**
 * `FINEFLOW_STACK_PROFILE=prod infra/stack.sh logs`: the production-shaped stack's logs by service, by worker
 * host or by worker, as the dev profile's `logs` (docs/operations.md tells operators to watch the control
 * workers' logs during a rollout). Reads a state dir of fixture logs; starts nothing. The script needs root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

const SCRIPT = path.resolve(__dirname, '../../../infra/stack.sh');
const stateDir = mkdtempSync(path.join(tmpdir(), 'fineflow-prod-logs-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));
mkdirSync(path.join(stateDir, 'logs'));
for (const name of ['temporal', 'minio', 'postgresql', 'worker-h1-control', 'worker-h1-train', 'worker-h2-control']) {
  writeFileSync(path.join(stateDir, 'logs', `${name}.log`), `line of ${name}\n`);
}

function logs(...args: string[]) {
  const result = spawnSync('bash', [SCRIPT, 'logs', ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      FINEFLOW_STACK_PROFILE: 'prod',
      FINEFLOW_STACK_DIR: stateDir,
      FINEFLOW_PROD_HOSTS: 'h1:control,train h2:control',
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const notRoot = process.getuid?.() !== 0 && 'the prod profile needs root';

test('logs HOST shows that host workers, a service by name, all by default', { skip: notRoot }, () => {
  const h1 = logs('h1');
  assert.equal(h1.status, 0, h1.stderr);
  assert.match(h1.stdout, /line of worker-h1-control/);
  assert.match(h1.stdout, /line of worker-h1-train/);
  assert.doesNotMatch(h1.stdout, /worker-h2|temporal/);
  const some = logs('temporal', 'worker-h2-control');
  assert.equal(some.status, 0, some.stderr);
  assert.match(some.stdout, /line of temporal\n[\s\S]*line of worker-h2-control/);
  const all = logs();
  for (const name of ['postgresql', 'temporal', 'minio', 'worker-h1-control', 'worker-h1-train', 'worker-h2-control']) {
    assert.match(all.stdout, new RegExp(`line of ${name}\\n`));
  }
});

test('logs of something the stack does not run names what it has', { skip: notRoot }, () => {
  const wrong = logs('h3');
  assert.equal(wrong.status, 1);
  assert.match(
    wrong.stderr,
    /logs: unknown argument h3 \(expected -f, a host: h1 h2, or one of: postgresql temporal minio/,
  );
});
