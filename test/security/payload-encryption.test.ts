/**
 * Payload encryption on the real stack (issue 12 item 3): what Temporal stores is ciphertext,
 * Fineflow's own processes still read it, keys rotate, a worker with the wrong key fails saying
 * so, and `fineflow codec-server` decrypts for the Temporal UI only with its token and origin.
 */
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { RunClient } from '../../src/client/run-client';
import type { FineflowConfig } from '../../src/config';
import { connectClient, connectWorker } from '../../src/client/temporal-connection';
import { taskQueueForPool } from '../../src/core/run/task-queues';
import { payloadsFromJson, payloadsToJson } from '../../src/security/codec-server';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, parseCodecKeys } from '../../src/security/payload-codec';
import { createWorker, type FineflowWorker } from '../../src/worker/run-worker';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../fixtures/runtime/harness';
import { stages as testStages } from '../stage-types';

const REPO = path.resolve(__dirname, '../..');
const CANARY = `canary-${randomBytes(6).toString('hex')}`;
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('utf8');
let harness: RuntimeHarness;
let raw: Client;
let runId: string;

/** Every payload in a history except search attributes (never encoded by any codec). */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (Array.isArray(value)) {
    for (const item of value) payloadsIn(item, found);
  } else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // A `patched()` marker holds only the patch id, written unencoded by the SDK's core: no user data.
    if (record.markerName === 'core_patch') return found;
    const metadata = record.metadata as Record<string, Uint8Array> | undefined;
    if (metadata && typeof metadata === 'object' && 'encoding' in metadata) found.push(record as Payload);
    for (const [key, child] of Object.entries(record)) if (key !== 'searchAttributes') payloadsIn(child, found);
  }
  return found;
}

async function rawHistory(workflowId: string): Promise<temporal.api.history.v1.IHistory> {
  return raw.workflow.getHandle(workflowId).fetchHistory();
}

/** Long-polls history (waitNewEvent) until an event matches; no sleeping. */
async function awaitEvent(
  workflowId: string,
  match: (event: temporal.api.history.v1.IHistoryEvent) => boolean,
  timeoutMs = 60_000,
): Promise<temporal.api.history.v1.IHistoryEvent> {
  const deadline = Date.now() + timeoutMs;
  let nextPageToken: Uint8Array | undefined;
  while (Date.now() < deadline) {
    const page = await raw.workflowService.getWorkflowExecutionHistory({
      namespace: harness.config.temporal.namespace,
      execution: { workflowId },
      waitNewEvent: true,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    const hit = page.history?.events?.find(match);
    if (hit) return hit;
    nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : nextPageToken;
  }
  throw new Error(`no matching event in ${workflowId} within ${timeoutMs} ms`);
}

function withKeys(config: FineflowConfig, keys: string): FineflowConfig {
  return {
    ...config,
    temporal: { ...config.temporal, codec: { mode: 'encrypt', keys: parseCodecKeys(keys, 'test'), source: 'test' } },
  };
}

const keyEntry = (id: string): string => `${id}:${randomBytes(32).toString('base64')}`;

/** Workers on their own pools with their own key ring. */
async function workersWith(
  config: FineflowConfig,
): Promise<{ pools: { control: string; cpu: string }; stop(): Promise<void> }> {
  const suffix = randomSuffix();
  const pools = { control: `control-${suffix}`, cpu: `cpu-${suffix}` };
  const connection = await connectWorker(config.temporal);
  const workers: FineflowWorker[] = [];
  for (const [pool, runsWorkflows] of [
    [pools.control, true],
    [pools.cpu, false],
  ] as const) {
    workers.push(
      await createWorker({
        config,
        store: harness.store,
        connection,
        extraStages: testStages,
        runsWorkflows,
        shutdownGraceMs: 1_000,
        pool,
      }),
    );
  }
  const running = workers.map((worker) => worker.run());
  return {
    pools,
    async stop() {
      await Promise.all(workers.map((worker) => worker.shutdown()));
      await Promise.allSettled(running);
      await connection.close();
    },
  };
}

before(async () => {
  harness = await startRuntimeHarness();
  raw = new Client({ connection: harness.client.connection, namespace: harness.config.temporal.namespace });
  const plan = harness.plan(`enc-${randomSuffix()}`, [{ id: 'echo', with: { value: '${{ params.token }}' } }], {
    token: CANARY,
  });
  runId = await harness.runs.submit(plan);
  const result = await harness.runs.result(runId);
  assert.equal(result.status, 'succeeded');
});
after(async () => {
  await harness?.close();
});

void describe('payload encryption', () => {
  void it('stores no plaintext of a param anywhere in the raw history; every payload is encrypted with the active key', async () => {
    const history = await rawHistory(runId);
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    assert.ok(bytes.length > 1000, 'a real history was fetched');
    assert.equal(bytes.indexOf(CANARY), -1, 'the canary param is not in the raw history');
    const payloads = payloadsIn(history);
    assert.ok(payloads.length >= 4, `input, activity input/output and result are payloads (found ${payloads.length})`);
    const codec = harness.config.temporal.codec;
    assert.ok(codec.mode === 'encrypt');
    for (const payload of payloads) {
      assert.equal(
        text(payload.metadata?.encoding),
        ENCRYPTED_ENCODING,
        `a payload in plain: ${Buffer.from(payload.data ?? [])
          .toString('utf8')
          .slice(0, 200)}`,
      );
      assert.equal(text(payload.metadata?.[KEY_ID_METADATA]), codec.keys[0].id);
    }
    const { workflowExecutionInfo: info } = await raw.workflowService.describeWorkflowExecution({
      namespace: harness.config.temporal.namespace,
      execution: { workflowId: runId },
    });
    const memo = Object.values(info?.memo?.fields ?? {});
    assert.ok(
      memo.length > 0 && memo.every((payload) => text(payload.metadata?.encoding) === ENCRYPTED_ENCODING),
      'the memo is encrypted',
    );
    // Search attributes bypass codecs: only the pipeline name, status and trigger kind (and Temporal's own BuildIds).
    const attributes = Object.keys(info?.searchAttributes?.indexedFields ?? {}).filter((name) => name !== 'BuildIds');
    // TemporalChangeVersion: the SDK lists the run's `patched()` ids there (no user data).
    assert.deepEqual(attributes.sort(), [
      'FineflowPipeline',
      'FineflowStatus',
      'FineflowTrigger',
      'TemporalChangeVersion',
    ]);
    assert.equal(
      Buffer.from(temporal.api.workflow.v1.WorkflowExecutionInfo.encode(info ?? {}).finish()).indexOf(CANARY),
      -1,
    );
  });

  void it('Fineflow clients still read it: the CLI shows the param', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(REPO, 'bin/fineflow.js'), 'status', runId, '--json'],
      { cwd: REPO, env: process.env },
    );
    const state = JSON.parse(stdout) as { params?: Record<string, unknown>; status: string };
    assert.equal(state.status, 'succeeded');
    assert.equal(state.params?.token, CANARY);
  });

  void it('rotation: a run started with the old key is run by workers holding [new, old], which encrypt with the new one', async () => {
    const oldKey = keyEntry(`old-${randomSuffix()}`);
    const newKey = keyEntry(`new-${randomSuffix()}`);
    const rotated = await workersWith(withKeys(harness.config, `${newKey}\n${oldKey}`));
    const oldClient = await connectClient(withKeys(harness.config, oldKey).temporal);
    const newClient = await connectClient(withKeys(harness.config, `${newKey},${oldKey}`).temporal);
    try {
      const options = { bucket: harness.config.s3.bucket, workflowTaskQueue: taskQueueForPool(rotated.pools.control) };
      const plan = harness.plan(
        `rot-${randomSuffix()}`,
        [{ id: 'echo', pool: rotated.pools.cpu, with: { value: '${{ params.token }}' } }],
        { token: CANARY },
      );
      const id = await new RunClient(oldClient, options).submit(plan);
      const result = await new RunClient(newClient, options).result(id);
      assert.equal(result.status, 'succeeded');
      const events = (await rawHistory(id)).events ?? [];
      const started = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)
        ?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
      assert.equal(text(started?.metadata?.[KEY_ID_METADATA]), oldKey.split(':')[0]);
      assert.equal(text(completed?.metadata?.[KEY_ID_METADATA]), newKey.split(':')[0]);
      await assert.rejects(
        new RunClient(oldClient, options).result(id),
        /encrypted with key 'new-[0-9a-f]+', which is not in this process's key ring/,
      );
    } finally {
      await rotated.stop();
      await Promise.all([oldClient.connection.close(), newClient.connection.close()]);
    }
  });

  void it('a worker with the wrong key fails the workflow task and says which key it lacks', async () => {
    const wrongId = `wrong-${randomSuffix()}`;
    const wrong = await workersWith(withKeys(harness.config, keyEntry(wrongId)));
    let id: string | undefined;
    try {
      const runs = new RunClient(harness.client, {
        bucket: harness.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(wrong.pools.control),
      });
      id = await runs.submit(
        harness.plan(`wrong-${randomSuffix()}`, [{ id: 'echo', pool: wrong.pools.cpu, with: { value: 1 } }]),
      );
      const failed = await awaitEvent(id, (event) => Boolean(event.workflowTaskFailedEventAttributes));
      const message = failed.workflowTaskFailedEventAttributes?.failure?.message ?? '';
      const codec = harness.config.temporal.codec;
      assert.ok(codec.mode === 'encrypt');
      assert.match(
        message,
        new RegExp(
          `encrypted with key '${codec.keys[0].id}', which is not in this process's key ring \\(${wrongId}\\)`,
        ),
      );
    } finally {
      if (id) await harness.client.workflow.getHandle(id).terminate('test over');
      await wrong.stop();
    }
  });

  void it('fineflow codec-server decrypts history payloads for the allowed origin with the token, and nothing else', async () => {
    const token = randomBytes(24).toString('base64');
    const origin = 'http://127.0.0.1:10399';
    const child: ChildProcess = spawn(
      process.execPath,
      [path.join(REPO, 'bin/fineflow.js'), 'codec-server', '--port', '0', '--json'],
      {
        cwd: REPO,
        env: { ...process.env, FINEFLOW_CODEC_SERVER_TOKEN: token, FINEFLOW_CODEC_SERVER_ORIGINS: origin },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [
        string,
      ];
      const { url } = JSON.parse(line) as { url: string };
      const started =
        (await rawHistory(runId)).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const body = JSON.stringify(payloadsToJson(started));
      const post = (headers: Record<string, string>): Promise<Response> =>
        fetch(`${url}/decode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
          body,
        });
      const ok = await post({ authorization: `Bearer ${token}`, origin });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('access-control-allow-origin'), origin);
      const [decoded] = payloadsFromJson(await ok.json());
      assert.ok(JSON.stringify(defaultPayloadConverter.fromPayload(decoded as Payload)).includes(CANARY));
      assert.equal((await post({ origin })).status, 401);
      assert.equal((await post({ authorization: 'Bearer nope', origin })).status, 401);
      assert.equal((await post({ authorization: `Bearer ${token}`, origin: 'http://evil.example' })).status, 403);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });
});
