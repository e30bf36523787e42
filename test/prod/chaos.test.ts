/**
 * Chaos in the production-shaped topology, each scenario mid fine-tune (checkpoint every epoch):
 * a worker host off the network, a Temporal server restart, a PostgreSQL restart, a MinIO drive
 * removed (no artifact lost, sha256 verified, then healed), the control worker's host killed.
 * Each run must succeed; each scenario prints `chaos: <scenario>: epochsRedone=… timeLostMs=…`.
 * Run by scripts/test-prod.sh after the smoke test.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  STATE_DIR,
  hostTraining,
  report,
  sleep,
  stackProd,
  startProdHarness,
  underChaos,
  type ProdHarness,
} from './harness';

let h: ProdHarness;

before(async () => {
  h = await startProdHarness();
});
after(async () => {
  await h?.close();
});

test(
  'a worker host taken off the network mid fine-tune: the stage moves to the other host and resumes',
  { timeout: 600_000 },
  async () => {
    let host: string | undefined;
    const { figures, byAttempt } = await underChaos(h, 'chaos-host-off', () => {
      host = hostTraining();
      assert.ok(host, 'a train worker runs the stage');
      stackProd('host-down', host);
    });
    try {
      assert.ok(figures.attempts >= 2, 'the heartbeat timed out and another host took the stage');
      assert.ok(figures.epochsRedone <= 1, `at most the epoch in flight is redone: ${JSON.stringify([...byAttempt])}`);
      report('worker host off the network', { host: host ?? '?', ...figures });
    } finally {
      if (host) stackProd('host-up', host);
    }
  },
);

test('the Temporal server restarted mid-run: the run finishes', { timeout: 600_000 }, async () => {
  const { figures } = await underChaos(h, 'chaos-temporal', () => stackProd('restart', 'temporal'));
  report('Temporal server restart', figures);
});

test('PostgreSQL restarted mid-run: the run finishes', { timeout: 600_000 }, async () => {
  const { figures } = await underChaos(h, 'chaos-postgresql', () => stackProd('restart', 'postgresql'));
  report('PostgreSQL restart', figures);
});

test(
  'a MinIO drive removed mid-run: no artifact lost (sha256 verified), healed afterwards',
  { timeout: 600_000 },
  async () => {
    const drives = (process.env.FINEFLOW_PROD_MINIO_DRIVES ?? '').split(' ');
    const drive = drives[2] ?? '';
    assert.ok(existsSync(drive), `drive ${drive}`);
    const removed = `${drive}.removed`;
    const { runId, figures } = await underChaos(h, 'chaos-drive', () => renameSync(drive, removed));
    const objects = await h.store.list(`s3://${h.config.s3.bucket}/runs/${runId}/`);
    assert.ok(objects.length > 0);
    let verified = 0;
    for (const object of objects) {
      const uri = `s3://${h.config.s3.bucket}/${object.key}`;
      const recorded = (await h.store.stat(uri))?.sha256;
      const bytes = await h.store.getBytes(uri);
      if (recorded === undefined) continue;
      assert.equal(
        createHash('sha256').update(bytes).digest('hex'),
        recorded,
        `${uri}: sha256 differs from the one recorded at upload`,
      );
      verified += 1;
    }
    assert.ok(verified > 0, 'artifacts carry a sha256 and were verified');
    // Heal: a fresh, empty drive in the removed one's place, then MinIO's heal rebuilds its shards,
    // including those of the dataset written before the drive was removed.
    const datasetDir = new URL(h.dataset).pathname.split('/').filter(Boolean).slice(0, 2).join(path.sep);
    rmSync(removed, { recursive: true, force: true });
    mkdirSync(drive, { recursive: true });
    const healStarted = Date.now();
    let shards: string[] = [];
    while (shards.length === 0 && Date.now() - healStarted < 120_000) {
      stackProd('heal');
      shards = readdirSync(drive, { recursive: true })
        .map(String)
        .filter((entry) => entry.includes(datasetDir));
      if (shards.length === 0) await sleep(2_000);
    }
    assert.ok(shards.length > 0, `the healed drive holds the dataset written before the removal (${datasetDir}) again`);
    report('MinIO drive removed', {
      ...figures,
      objects: objects.length,
      sha256Verified: verified,
      healedEntries: shards.length,
      healMs: Date.now() - healStarted,
    });
  },
);

test(
  "the control worker's host killed mid-run: the other host's control worker carries on",
  { timeout: 600_000 },
  async () => {
    const { figures } = await underChaos(h, 'chaos-control', () => stackProd('host-kill', 'h1'));
    try {
      report("control worker's host killed", figures);
    } finally {
      stackProd('host-start', 'h1');
    }
    assert.ok(STATE_DIR);
  },
);
