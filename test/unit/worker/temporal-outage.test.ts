/** The worker's Temporal-outage lines (src/worker/temporal-outage.ts) and the logger that feeds them. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Logger } from '@temporalio/common';
import { workerSdkLogger } from '../../../src/cli/commands/worker';
import {
  TemporalOutageWatch,
  coreRetry,
  outageJson,
  outageText,
  type OutageEvent,
} from '../../../src/worker/temporal-outage';
import { formatHumanDuration } from '../../../src/core/spec/durations';

const RETRY_META = {
  target: 'temporalio_client::retry',
  error:
    'Status { code: Unavailable, message: "tcp connect error", source: Some(tonic::transport::Error(Transport, ' +
    'ConnectError(ConnectError("tcp connect error", 127.0.0.1:7233, Os { code: 111 })))) }',
};
const RETRY = 'gRPC call poll_activity_task_queue retried 6 times';

void it('reads the core retry warning: the call and a short reason; anything else is not one', () => {
  assert.deepEqual(coreRetry(RETRY, RETRY_META), { call: 'poll_activity_task_queue', reason: 'tcp connect error' });
  assert.deepEqual(coreRetry(RETRY, { ...RETRY_META, error: 'Status { code: Unavailable }' })?.reason, 'Unavailable');
  assert.equal(coreRetry(RETRY, { target: 'temporalio_sdk_core::worker' }), undefined);
  assert.equal(coreRetry('Worker state changed', RETRY_META), undefined);
  assert.equal(coreRetry(RETRY, undefined), undefined);
  const long = coreRetry(RETRY, { ...RETRY_META, error: `message: "${'x'.repeat(5000)}"` });
  assert.ok(long && long.reason.length <= 161);
});

void it('says how long Temporal was gone as every other duration reads (formatHumanDuration)', () => {
  assert.deepEqual([0, 1_400, 59_000, 61_000, 3_599_000, 3_720_000].map(formatHumanDuration), [
    '0 ms',
    '1.4 s',
    '59 s',
    '1m 1s',
    '59m 59s',
    '1h 2m',
  ]);
});

const activity = { taskQueue: 'fineflow-train', runningStages: 2 };

void it('text and JSON lines: what it was doing, that it retries; how long it was gone', () => {
  const lost: OutageEvent = {
    kind: 'lost',
    at: new Date('2026-12-07T00:00:00Z'),
    call: 'poll_activity_task_queue',
    reason: 'tcp connect error',
    ...activity,
  };
  assert.equal(
    outageText(lost, 'temporal:7233'),
    'lost Temporal at temporal:7233 (tcp connect error) while polling task queue fineflow-train ' +
      'with 2 stages running; retrying until it answers (running stages go on)',
  );
  const back: OutageEvent = {
    kind: 'back',
    at: new Date('2026-12-07T00:01:05Z'),
    lostAt: lost.at,
    downMs: 65_000,
    taskQueue: 'fineflow-train',
    runningStages: 0,
  };
  assert.equal(
    outageText(back, 'temporal:7233'),
    'Temporal at temporal:7233 answers again after 1m 5s (lost at 2026-12-07T00:00:00.000Z); ' +
      'polling task queue fineflow-train, no stage running',
  );
  const json = JSON.parse(outageJson(back, { pool: 'train', address: 'temporal:7233' })) as Record<string, unknown>;
  assert.equal(json.event, 'temporal-back');
  assert.equal(json.downMs, 65_000);
  assert.equal(json.lostAt, '2026-12-07T00:00:00.000Z');
  assert.equal(json.pool, 'train');
});

/** A watch on a fake worker whose probe answers as `answers` says, with a clock the test moves. */
function watched(answers: boolean[]) {
  const events: OutageEvent[] = [];
  let clock = 1_000;
  let probes = 0;
  let settle: (() => void) | undefined;
  const watch = new TemporalOutageWatch({
    report: (event) => {
      events.push(event);
      settle?.();
    },
    probeIntervalMs: 0,
    now: () => clock,
  });
  const worker = {
    probe: () => {
      probes++;
      clock += 1_000;
      return Promise.resolve(answers.shift() ?? true);
    },
    activity: () => activity,
  };
  const reported = (count: number): Promise<void> =>
    events.length >= count ? Promise.resolve() : new Promise((resolve) => (settle = resolve));
  return { watch, worker, events, reported, probes: () => probes, time: () => clock };
}

void it('one lost line at the first retry warning, none for the next, one back line once the probe answers', async () => {
  const { watch, worker, events, reported, probes } = watched([false, false, true]);
  assert.equal(watch.consume(RETRY, RETRY_META), false, 'before the worker runs, a retry line is left as it is');
  watch.start(worker);
  assert.equal(watch.consume('some other warning', { target: 'x' }), false);
  assert.equal(watch.consume(RETRY, RETRY_META), true);
  assert.equal(watch.consume(RETRY, RETRY_META), true);
  await reported(2);
  assert.deepEqual(
    events.map((event) => event.kind),
    ['lost', 'back'],
  );
  assert.equal(probes(), 3);
  const back = events[1]!;
  assert.ok(back.kind === 'back' && back.downMs === 3_000 && back.lostAt.getTime() === 1_000);
  // A retry line the core logged before Temporal answered, forwarded late, does not start another outage.
  assert.equal(watch.consume(RETRY, RETRY_META, 2_000), true);
  assert.equal(events.length, 2);
  // A new failure after that does.
  watch.consume(RETRY, RETRY_META, 10_000);
  await reported(4);
  assert.deepEqual(
    events.map((event) => event.kind),
    ['lost', 'back', 'lost', 'back'],
  );
  watch.stop();
});

void it('a stopped worker reports nothing more, and its probing ends', async () => {
  const { watch, worker, events, probes } = watched([false, false, false, false]);
  watch.start(worker);
  watch.consume(RETRY, RETRY_META);
  watch.stop();
  await new Promise((resolve) => setImmediate(resolve));
  const after = probes();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(probes(), after);
  assert.deepEqual(
    events.map((event) => event.kind),
    ['lost'],
  );
  assert.equal(watch.consume(RETRY, RETRY_META), false);
});

void it("the worker's SDK logger drops the retry warnings the watch reads, and keeps them under FINEFLOW_DEBUG", () => {
  const printed: string[] = [];
  const sink: Logger = {
    log: (_level, message) => void printed.push(message),
    trace: (message) => void printed.push(message),
    debug: (message) => void printed.push(message),
    info: (message) => void printed.push(message),
    warn: (message) => void printed.push(message),
    error: (message) => void printed.push(message),
  };
  const outage = { consume: (message: string) => message === RETRY };
  const quiet = workerSdkLogger(sink, { debug: false, outage });
  quiet.log('WARN', RETRY, RETRY_META);
  quiet.warn('No workflows registered, not polling for workflow tasks');
  quiet.warn('something else');
  assert.deepEqual(printed, ['something else']);
  printed.length = 0;
  const debug = workerSdkLogger(sink, { debug: true, outage });
  debug.log('WARN', RETRY, RETRY_META);
  assert.deepEqual(printed, [RETRY]);
});
