/**
 * The operator's upgrade on the production-shaped topology: `infra/stack-prod.sh roll` drains one worker
 * host at a time (SIGTERM), starts it again and waits until its workers poll, mid fine-tune. Both control
 * workers are restarted, so the run's workflow moves to another control worker; the training stage is cut
 * off by the drain (not by a kill) and resumes from its checkpoint on another host.
 * Run by scripts/test-prod.sh (alone: `bash scripts/test-prod.sh test/prod/rolling-restart.test.ts`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { listStageLogs, stageLogText } from '../../src/client/run-logs';
import { STATE_DIR, hostTraining, report, stackProd, startProdHarness, underChaos, type ProdHarness } from './harness';

const HOSTS = ['h1', 'h2'];
let h: ProdHarness;

before(async () => {
  h = await startProdHarness();
});
after(async () => {
  await h?.close();
});

/** Identities of the workers that completed the run's workflow tasks, deduplicated (pid included). */
async function workflowTaskWorkers(client: Client, runId: string): Promise<Set<string>> {
  const history = await client.workflow.getHandle(runId).fetchHistory();
  const identities = new Set<string>();
  for (const event of history.events ?? []) {
    const identity = event.workflowTaskCompletedEventAttributes?.identity;
    if (identity) identities.add(identity.replace(/ \[capacity [^\]]*\]$/, ''));
  }
  return identities;
}

test(
  'a rolling restart of every worker host mid fine-tune: drained, resumed, the run succeeds',
  { timeout: 600_000 },
  async () => {
    let order: string[] = [];
    // 40 epochs: the training host is drained first, and the stage must still be running when its drain comes.
    const { runId, figures, byAttempt } = await underChaos(
      h,
      'chaos-roll',
      () => {
        const training = hostTraining();
        assert.ok(training, 'a train worker runs the stage');
        order = [training, ...HOSTS.filter((host) => host !== training)];
        stackProd('roll', ...order);
      },
      { epochs: 40 },
    );
    // The roll returns once every host polls again: each worker wrote its health file.
    for (const file of ['h1-control', 'h1-cpu', 'h1-train', 'h2-control', 'h2-train']) {
      assert.ok(existsSync(path.join(STATE_DIR, `worker-${file}.health`)), `worker-${file} polls after the roll`);
    }
    assert.ok(figures.attempts >= 2, 'the drain cut the stage off and another host ran it again');
    const logs = await listStageLogs(h.store, h.config.s3.bucket, runId, 'finetune');
    const first = logs.find((log) => log.attempt === 1);
    assert.ok(first, 'attempt 1 has a log');
    assert.match(
      await stageLogText(h.store, first),
      /the worker shut down before the stage finished/,
      'attempt 1 ended by the drain (SIGTERM), not by a kill or a heartbeat timeout',
    );
    assert.ok(figures.epochsRedone <= 1, `at most the epoch in flight is redone: ${JSON.stringify([...byAttempt])}`);
    const controlWorkers = [...(await workflowTaskWorkers(h.client, runId))].filter((id) => id.startsWith('control@'));
    assert.ok(
      controlWorkers.length >= 2,
      `the run's workflow moved between control workers: ${controlWorkers.join(', ')}`,
    );
    report('rolling restart', { order: order.join('>'), controlWorkers: controlWorkers.length, ...figures });
  },
);
