import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StageLog, MAX_LOG_LINE_BYTES } from '../../../activities/stage-log';
import {
  attemptsWithoutLogs,
  listStageLogs,
  newLogCursor,
  printMissingLogs,
  printStageLogs,
  readStageLog,
  stageLogText,
} from '../../../src/client/run-logs';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { DependencyUnavailableError } from '../../../src/core/errors';
import type { RunState } from '../../../src/core/run/run-types';

const target = { bucket: 'fineflow', runId: 'r-1', stageId: 'train', attempt: 1 };
const HOUR = 3_600_000;

/** A memory store whose writes fail while `down` is set, counting the bytes it was sent. */
function flakyStore(): { store: ObjectStore; setDown(down: boolean): void; putBytesSent(): number } {
  const inner = createMemoryObjectStore({ buckets: ['fineflow'] });
  let down = false;
  let sent = 0;
  const store: ObjectStore = {
    ...inner,
    async putBytes(uri, body, options) {
      if (down) throw new DependencyUnavailableError('store down', { code: 'unavailable' });
      sent += typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      return inner.putBytes(uri, body, options);
    },
  };
  return { store, setDown: (value) => (down = value), putBytesSent: () => sent };
}

async function textOf(store: ObjectStore): Promise<string> {
  const [log] = await listStageLogs(store, 'fineflow', 'r-1', 'train');
  assert.ok(log, 'the attempt has a log');
  return stageLogText(store, log);
}

const bodies = (text: string): string[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^\S+ /, ''));

test('each flush appends a chunk: bytes sent grow linearly, the reader joins them in line order', async () => {
  const { store, putBytesSent } = flakyStore();
  const log = new StageLog(store, target, { flushIntervalMs: HOUR });
  for (let flush = 0; flush < 12; flush += 1) {
    log.append(`line ${flush}`);
    await log.flush();
  }
  await log.close();
  const text = await textOf(store);
  assert.deepEqual(
    bodies(text),
    Array.from({ length: 12 }, (_, i) => `line ${i}`),
  );
  // Rewriting the whole log each time would send 1+2+…+12 lines' worth of bytes.
  assert.equal(putBytesSent(), Buffer.byteLength(text));
  const keys = (await store.list('s3://fineflow/runs/r-1/train/logs/')).map((o) => o.key);
  assert.equal(keys.length, 12);
  assert.ok(keys.includes('runs/r-1/train/logs/attempt-1/0000000011.log'));
});

test('lines written while the store is down are buffered and written with a note when it returns', async () => {
  const { store, setDown } = flakyStore();
  let now = Date.parse('2026-12-05T03:00:00Z');
  const log = new StageLog(store, target, { flushIntervalMs: HOUR, now: () => now });
  log.append('before');
  await log.flush();
  setDown(true);
  for (let i = 0; i < 5; i += 1) {
    log.append(`during ${i}`);
    now += 10_000;
    await log.flush();
  }
  assert.equal(log.unwrittenLines, 5);
  setDown(false);
  log.append('after');
  await log.close();
  const lines = bodies(await textOf(store));
  assert.deepEqual(lines.slice(0, 7), ['before', 'during 0', 'during 1', 'during 2', 'during 3', 'during 4', 'after']);
  assert.match(lines[7] ?? '', /object store was unavailable for 40 s \(5 failed log write\(s\)\)/);
  assert.equal(lines.length, 8);
});

test('the buffer is bounded: lines beyond it are counted in one marker, the rest written in order', async () => {
  const { store, setDown } = flakyStore();
  const log = new StageLog(store, target, { flushIntervalMs: HOUR, maxBufferBytes: 400 });
  setDown(true);
  for (let i = 0; i < 50; i += 1) log.append(`line ${i}`);
  await log.flush();
  setDown(false);
  await log.flush();
  log.append('later');
  await log.close();
  const lines = bodies(await textOf(store));
  const kept = lines.filter((line) => line.startsWith('line '));
  assert.ok(kept.length > 0 && kept.length < 50, `some lines kept: ${kept.length}`);
  assert.deepEqual(
    kept,
    Array.from({ length: kept.length }, (_, i) => `line ${i}`),
  );
  const marker = lines.find((line) => line.includes('dropped'));
  assert.ok(marker);
  assert.match(marker, new RegExp(`^\\[fineflow\\] ${50 - kept.length} log line\\(s\\) dropped`));
  assert.equal(lines.at(-1), 'later');
});

test('a log closed while the store is down is written once it returns', async () => {
  const { store, setDown } = flakyStore();
  const log = new StageLog(store, target, { flushIntervalMs: HOUR, drainForMs: 60_000 });
  setDown(true);
  log.append('last words');
  await log.close();
  assert.equal(log.unwrittenLines, 1);
  setDown(false);
  // The drain's timers do not hold a stopping worker open; this test's process must stay up for them.
  const keepAlive = setInterval(() => undefined, 1_000);
  await log.drained;
  clearInterval(keepAlive);
  assert.equal(log.unwrittenLines, 0);
  assert.equal(bodies(await textOf(store))[0], 'last words');
});

test('close() writes the lines appended while a periodic write was under way before it resolves', async () => {
  // The fine-tune cancel test (test/e2e/fine-tune-resume.test.ts) read a cancelled attempt's log without its
  // "attempt 1 ended" line: the timer's write was in flight when the attempt ended, close() awaited that write
  // (which held only the earlier lines) and left the last line to the background drain, after the activity ended.
  const inner = createMemoryObjectStore({ buckets: ['fineflow'] });
  let release: () => void = () => undefined;
  let held = true;
  const store: ObjectStore = {
    ...inner,
    async putBytes(uri, body, options) {
      if (held) {
        held = false;
        await new Promise<void>((resolve) => (release = resolve));
      }
      return inner.putBytes(uri, body, options);
    },
  };
  const log = new StageLog(store, target, { flushIntervalMs: HOUR });
  log.append('epoch 1/50');
  const periodic = log.flush(); // what the timer starts; its write waits in the store
  log.append('attempt 1 ended after 9 ms: CancelledFailure: stage cancelled');
  const closed = log.close();
  release();
  await Promise.all([periodic, closed]);
  assert.deepEqual(bodies(await textOf(store)), [
    'epoch 1/50',
    'attempt 1 ended after 9 ms: CancelledFailure: stage cancelled',
  ]);
  assert.equal(log.unwrittenLines, 0);
});

test('an over-long line is cut, saying by how much', async () => {
  const { store } = flakyStore();
  const log = new StageLog(store, target, { flushIntervalMs: HOUR });
  log.append('x'.repeat(MAX_LOG_LINE_BYTES + 100));
  await log.close();
  assert.match(await textOf(store), /x … \(100 more bytes cut\)\n$/);
});

test('the reader: a pre-chunk log is the first chunk, a hole is said in place, readStageLog pages by byte', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  await store.putBytes('s3://fineflow/runs/r-1/sweep/logs/attempt-1.log', 'a\nb\n');
  await store.putBytes('s3://fineflow/runs/r-1/sweep/logs/attempt-1/0000000002.log', 'c\n');
  await store.putBytes('s3://fineflow/runs/r-1/sweep/logs/attempt-1/0000000005.log', 'f\n');
  const logs = await listStageLogs(store, 'fineflow', 'r-1');
  assert.equal(logs.length, 1);
  assert.equal(logs[0]?.size, 8);
  let printed = '';
  const cursor = await printStageLogs(store, logs, (text) => (printed += text));
  assert.equal(
    printed,
    '==> sweep attempt 1 <==\na\nb\nc\n[fineflow] 2 line(s) of this log never reached the store\nf\n',
  );
  // Following: only what is new is printed.
  await store.putBytes('s3://fineflow/runs/r-1/sweep/logs/attempt-1/0000000006.log', 'g\n');
  printed = '';
  await printStageLogs(store, await listStageLogs(store, 'fineflow', 'r-1'), (text) => (printed += text), cursor);
  assert.equal(printed, 'g\n');
  assert.deepEqual(await readStageLog(store, logs[0]!, 2, 1_000), { text: 'b\nc\nf\n', size: 8 });
  assert.deepEqual(await readStageLog(store, logs[0]!, 0, 2), { text: 'f\n', size: 8 });
});

test('attempts the run made without a log are noted once; a running attempt is not', () => {
  const stage = (id: string, status: 'running' | 'succeeded', attempts: number): RunState['stages'][number] => ({
    id,
    uses: 'test-echo',
    pool: 'cpu',
    status,
    attempts,
  });
  const state: RunState = {
    runId: 'r-1',
    pipeline: 'p',
    status: 'running',
    trigger: { kind: 'manual' },
    startedAt: '2026-12-05T03:00:00Z',
    params: {},
    stages: [stage('a', 'succeeded', 3), stage('b', 'running', 2)],
  };
  const logs = [{ stageId: 'a', attempt: 1, size: 1, chunks: [] }];
  const missing = attemptsWithoutLogs(state, logs);
  assert.deepEqual(missing, [
    { stageId: 'a', attempt: 2 },
    { stageId: 'a', attempt: 3 },
    { stageId: 'b', attempt: 1 },
  ]);
  let printed = '';
  const cursor = newLogCursor();
  printMissingLogs(missing, (text) => (printed += text), cursor);
  printMissingLogs(missing, (text) => (printed += text), cursor);
  assert.equal(printed.match(/no log in the store for this attempt/g)?.length, 3);
  assert.match(printed, /==> a attempt 2 <==/);
});
