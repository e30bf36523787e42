/**
 * Replays every recorded history in test/replay/histories/ against the current workflow bundle
 * (workflows/index.ts, bundled as the worker bundles it). A change to workflow code that would
 * make a running or long-lived execution (a pipeline run mid-stage, a watcher that lives for
 * months, a sweep across continue-as-new) take a different path on replay fails here with the
 * SDK's DeterminismViolationError. Such a change must be versioned with `patched()` (see
 * docs/operations.md), after which these histories still replay and new ones are recorded with
 * `npm run record-histories`. Needs no server: replay runs in-process. Under scripts/test.sh
 * (FINEFLOW_WORKFLOW_BUNDLE_CACHE set) the bundle comes from the run's shared cache, which rebuilds on any edit of
 * the workflow sources, so what replays is always the current code.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { workflowBundle } from '../../../src/worker/run-worker';
import { loadConfig } from '../../../src/config';

const HISTORIES_DIR = path.resolve(__dirname, '../../replay/histories');

/** Every workflow type and feature the recordings must cover, so a lost file fails too. */
const REQUIRED = [
  'pipeline-run-retries-when',
  'pipeline-run-pause-retry',
  'pipeline-run-cache',
  'pipeline-run-cancel',
  'pipeline-run-one-task-two-stages',
  'pipeline-run-fan-out',
  'pipeline-run-wide-fan-out',
  'pipeline-run-continue-as-new',
  'pipeline-run-superseded-state-removed',
  'pipeline-run-bounded-result',
  'hyperparameter-sweep',
  'hyperparameter-sweep-warm-start',
  'hyperparameter-sweep-base-pin',
  'hyperparameter-sweep-rung-audit',
  'data-watcher',
  'schedule-run',
];

interface Recorded {
  readonly file: string;
  readonly workflowId: string;
  readonly workflowType: string;
  readonly history: {
    events: {
      eventType?: string;
      workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } };
      activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
      markerRecordedEventAttributes?: {
        markerName?: string;
        details?: Record<string, { payloads?: { data?: string }[] }>;
      };
      activityTaskCompletedEventAttributes?: { result?: { payloads?: { data?: string }[] } };
      workflowExecutionSignaledEventAttributes?: { signalName?: string };
    }[];
  };
}

async function recordedHistories(): Promise<Recorded[]> {
  // Subdirectories hold the histories of the old branch of a patch still in force (docs/operations.md).
  const files = (await readdir(HISTORIES_DIR, { recursive: true })).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const stored = JSON.parse(await readFile(path.join(HISTORIES_DIR, file), 'utf8')) as Pick<
        Recorded,
        'workflowId' | 'history'
      >;
      const workflowType = stored.history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
      return { file, workflowId: stored.workflowId, workflowType, history: stored.history };
    }),
  );
}

/** The worker's bundle of workflows/index.ts, through the test run's bundle cache when it has one. */
function currentWorkflowBundle(): ReturnType<typeof workflowBundle> {
  const cacheDir = loadConfig(process.env).workflowBundleCache;
  return workflowBundle(undefined, cacheDir ? { cacheDir } : {});
}

function schedulesActivity(recorded: Recorded, activityType: string): boolean {
  return recorded.history.events.some(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === activityType,
  );
}

/** The JSON payloads of a recording's events of one kind (plain payloads: recorded without the codec). */
function payloadsOf(recorded: Recorded, pick: (event: Recorded['history']['events'][number]) => unknown): unknown[] {
  const decoded: unknown[] = [];
  for (const event of recorded.history.events) {
    const found = pick(event) as { payloads?: { data?: string }[] } | undefined;
    for (const payload of found?.payloads ?? [])
      if (payload.data) decoded.push(JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')));
  }
  return decoded;
}

/** Whether a recording took the new branch of a patch (its marker is in the history). */
function takesPatch(recorded: Recorded, patchId: string): boolean {
  return payloadsOf(recorded, (e) => e.markerRecordedEventAttributes?.details?.['patch-data']).some(
    (data) => (data as { id?: string }).id === patchId,
  );
}

test('every recorded workflow history replays against the current workflow code', { timeout: 240_000 }, async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed by another test in this process
  }
  const recorded = await recordedHistories();
  for (const scenario of REQUIRED)
    assert.ok(
      recorded.some((r) => r.file.startsWith(`${scenario}--`)),
      `no recorded history for ${scenario}; run npm run record-histories`,
    );
  const types = new Set(recorded.map((r) => r.workflowType));
  for (const type of ['pipelineRun', 'hyperparameterSweep', 'dataWatcher'])
    assert.ok(types.has(type), `no recorded ${type} history`);
  const continued = recorded.filter(
    (r) => r.history.events.at(-1)?.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
  );
  assert.ok(
    continued.some((r) => r.workflowType === 'hyperparameterSweep'),
    'a sweep history that continued as new',
  );
  assert.ok(
    continued.some((r) => r.workflowType === 'pipelineRun'),
    'a pipeline run history that continued as new',
  );
  assert.ok(
    continued.some((r) => r.workflowType === 'dataWatcher'),
    'a watcher history that continued as new',
  );

  // The base-pin patch (workflows/hyperparameter-sweep.ts) has a recording that took its new branch.
  assert.ok(
    recorded.some((r) => r.file.startsWith('hyperparameter-sweep-base-pin--') && schedulesActivity(r, 'pinSweepBase')),
    'a recorded sweep that pins its registry base (pinSweepBase)',
  );

  // The waiting-for-worker patch has a sweep recording that took its new branch and heard a trial start.
  assert.ok(
    recorded.some(
      (r) =>
        r.file.startsWith('hyperparameter-sweep--') &&
        takesPatch(r, 'fineflow-sweep-waiting-for-worker') &&
        r.history.events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'sweepTrialStarted'),
    ),
    'a recorded sweep with fineflow-sweep-waiting-for-worker that heard sweepTrialStarted',
  );

  // The watcher's empty-look patch has a recording that took its new branch on an empty prefix.
  assert.ok(
    recorded.some(
      (r) =>
        r.file.startsWith('data-watcher--') &&
        takesPatch(r, 'fineflow-s18-watch-empty-no-version') &&
        payloadsOf(r, (e) => e.activityTaskCompletedEventAttributes?.result).some(
          (seen) => (seen as { count?: number }).count === 0,
        ),
    ),
    'a recorded watcher that looked at an empty prefix with fineflow-s18-watch-empty-no-version',
  );

  const failures: string[] = [];
  let replayed = 0;
  const results = Worker.runReplayHistories(
    { workflowBundle: await currentWorkflowBundle(), replayName: 'fineflow-replay-test' },
    // Stored by test/replay/record-histories.ts as protobuf JSON; fromObject restores the message.
    recorded.map((r) => ({ workflowId: r.workflowId, history: temporal.api.history.v1.History.fromObject(r.history) })),
  );
  // Results come in the order of the iterable.
  for await (const result of results) {
    const file = recorded[replayed]?.file ?? result.workflowId;
    replayed += 1;
    if (result.error) failures.push(`${file}: ${result.error.name}: ${result.error.message}`);
  }
  assert.equal(replayed, recorded.length);
  assert.deepEqual(
    failures,
    [],
    `histories that no longer replay (a non-deterministic workflow change; version it, docs/operations.md):\n${failures.join('\n')}`,
  );
});
