/**
 * Backup and restore of the production-shaped stack as docs/operations.md ("Backups") tells an operator:
 * pg_dump of both Temporal databases, the PostgreSQL cluster lost, `up` on a fresh cluster, workers drained,
 * pg_restore, Temporal restarted, workers started. The run recorded before the loss is back (history and
 * visibility) and a new run succeeds. Stops and starts the whole stack; the files after it run on the restored
 * stack (alone: `bash scripts/test-prod.sh test/prod/restore.test.ts`).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STATE_DIR, fineTunePlan, report, stackProd, startProdHarness, type ProdHarness } from './harness';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const DATABASES = ['temporal', 'temporal_visibility'];
const HOSTS = ['h1', 'h2'];
const harnesses: ProdHarness[] = [];
const backupDir = mkdtempSync(path.join(tmpdir(), 'fineflow-pg-backup-'));

after(async () => {
  for (const h of harnesses) await h.close();
  rmSync(backupDir, { recursive: true, force: true });
});

function pg(tool: string, args: string[]): void {
  const env = {
    ...process.env,
    PGPASSWORD: readFileSync(path.join(STATE_DIR, 'secrets/postgresql-password'), 'utf8').trim(),
  };
  const port = process.env.FINEFLOW_PROD_PG_PORT ?? '';
  execFileSync(path.join(PG_BIN, tool), ['-h', '127.0.0.1', '-p', port, '-U', 'temporal', ...args], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function connect(): Promise<ProdHarness> {
  const h = await startProdHarness();
  harnesses.push(h);
  return h;
}

test(
  'PostgreSQL lost and restored from pg_dump: the recorded run is back and new runs succeed',
  { timeout: 600_000 },
  async () => {
    const dataDir = process.env.FINEFLOW_PROD_PG_DATA ?? '';
    assert.ok(dataDir.endsWith('/postgresql'), `the stack's env names PostgreSQL's data dir: ${dataDir}`);
    const first = await connect();
    const recorded = await first.runs.submit(fineTunePlan('restore-before', first.dataset, 2));
    assert.equal((await first.runs.result(recorded)).status, 'succeeded');

    for (const db of DATABASES) pg('pg_dump', ['-Fc', '-f', path.join(backupDir, `${db}.dump`), db]);
    const started = Date.now();
    // The loss: the whole cluster's files. `up` must give the fresh cluster its schema again.
    stackProd('down');
    rmSync(dataDir, { recursive: true, force: true });
    stackProd('up');
    const fresh = await connect();
    await assert.rejects(fresh.runs.result(recorded), 'the fresh cluster does not know the run');

    // Restore: workers off, both databases from the dump, Temporal restarted on them, workers on.
    for (const host of HOSTS) stackProd('host-stop', host);
    for (const db of DATABASES)
      pg('pg_restore', ['--clean', '--if-exists', '-d', db, path.join(backupDir, `${db}.dump`)]);
    stackProd('restart', 'temporal');
    for (const host of HOSTS) stackProd('host-start', host);
    const restoredMs = Date.now() - started;

    const h = await connect();
    assert.equal((await h.runs.result(recorded)).status, 'succeeded', 'the run recorded before the loss is back');
    const listed: string[] = [];
    for await (const execution of h.client.workflow.list({ query: `WorkflowId = '${recorded}'` })) {
      listed.push(execution.workflowId);
    }
    assert.deepEqual(listed, [recorded], 'visibility (temporal_visibility) lists it');
    const later = await h.runs.submit(fineTunePlan('restore-after', h.dataset, 2));
    assert.equal((await h.runs.result(later)).status, 'succeeded', 'a new run succeeds on the restored stack');
    report('PostgreSQL restored from pg_dump', { restoredMs });
  },
);
