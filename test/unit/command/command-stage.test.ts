/**
 * The `command` stage run the way a worker runs it (stage runner, MockActivityEnvironment, the
 * in-memory store) with real child processes: /bin/sh scripts stand in for a user's program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommandStage } from '../../../activities/command';
import type { CommandConfig } from '../../../src/command/command-config';
import { ERROR_TYPES } from '../../../src/core/errors';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import type { ObjectStore } from '../../../src/storage/object-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from '../activities/helpers';

/** The stage's first-attempt log as `fineflow logs` reads it (chunks in line order). */
async function firstLog(store: ObjectStore, runId: string, stageId: string): Promise<string> {
  const [log] = await listStageLogs(store, BUCKET, runId, stageId);
  assert.ok(log, `${stageId} has a log`);
  return stageLogText(store, log);
}

async function config(allow: Record<string, string> = { sh: '/bin/sh' }): Promise<CommandConfig> {
  return { allow, workRoot: await mkdtemp(join(tmpdir(), 'ff-command-test-')), maxBytes: 10 * 1024 * 1024 };
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** Running (a killed process whose parent died may linger as a zombie until something reaps it). */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

test('a command downloads its inputs, reports progress, uploads its outputs with sha256 and returns its results', async () => {
  const store = memoryStore();
  await store.putBytes('s3://datasets/raw/numbers.txt', '3\n4\n5\n');
  const settings = await config();
  const script = [
    'set -e',
    'total=$(paste -sd+ inputs/numbers | bc)',
    'echo "::fineflow:: {\\"progress\\": 0.5, \\"message\\": \\"summing\\", \\"metrics\\": {\\"partial\\": 7}}"',
    'echo "summed to $total"',
    'mkdir -p out/model',
    'printf "weights-%s" "$total" > out/model/weights.bin',
    'printf "{}" > out/model/config.json',
    'echo "$total" > out/total.txt',
    'printf \'{"outputs": {"total": %s, "greeting": "%s"}, "metrics": {"accuracy": 0.75}}\' "$total" "$GREETING" > "$FINEFLOW_RESULTS"',
  ].join('\n');
  const context = stageContext('sum');
  const { result, heartbeats } = await runStage('command', createCommandStage(settings), store, context, {
    run: ['sh', 'sum.sh'],
    files: { 'sum.sh': script },
    inputs: { numbers: 's3://datasets/raw/numbers.txt' },
    env: { GREETING: 'hello' },
    outputs: { model: { path: 'out/model', type: 'folder' }, total: 'out/total.txt' },
  });
  const outputs = result.outputs as Record<string, JsonObject>;
  assert.deepEqual(outputs.values, { total: 12, greeting: 'hello' });
  assert.deepEqual(outputs.metrics, { partial: 7, accuracy: 0.75 });
  assert.equal(outputs.artifacts?.model, `${context.outputPrefix}outputs/model/`);
  assert.equal(outputs.artifacts?.total, `${context.outputPrefix}outputs/total/total.txt`);
  const totalFile = outputs.files?.total as JsonObject;
  assert.equal(totalFile.sha256, sha256('12\n'));
  assert.equal(totalFile.bytes, 3);
  const weights = await store.getBytes(`${context.outputPrefix}outputs/model/weights.bin`);
  assert.equal(weights.toString(), 'weights-12');
  assert.equal((outputs.files?.model as JsonObject).files, 2);
  assert.equal(result.artifacts?.length, 3);
  assert.ok(heartbeats.some((h) => h.fraction === 0.5 && h.message?.includes('summing partial=7')));
  const log = await firstLog(store, context.runId, 'sum');
  assert.match(log, /summed to 12/);
  assert.doesNotMatch(log, /::fineflow::/, 'protocol lines are progress, not log');
  assert.deepEqual(await readdir(settings.workRoot), [], 'the work directory is removed');
});

test('the program gets a fresh environment: none of the worker variables (store keys) reach it', async () => {
  const store = memoryStore();
  process.env.FINEFLOW_S3_SECRET_KEY_CANARY = 'worker-secret-canary-value';
  try {
    const context = stageContext('env');
    await runStage('command', createCommandStage(await config()), store, context, {
      run: ['sh', '-c', 'env; echo "home=$HOME"'],
    });
    const log = await firstLog(store, context.runId, 'env');
    assert.doesNotMatch(log, /worker-secret-canary-value/);
    assert.match(log, /FINEFLOW_RESULTS=/);
    assert.match(log, /PATH=\/usr\/local\/bin:\/usr\/bin:\/bin/);
  } finally {
    delete process.env.FINEFLOW_S3_SECRET_KEY_CANARY;
  }
});

test('run[0] must be a name the worker allows; nothing is allowed by default', async () => {
  const store = memoryStore();
  const refused = await stageFailure(
    runStage('command', createCommandStage(await config({ python: '/usr/bin/python3' })), store, stageContext('a'), {
      run: ['sh', '-c', 'echo pwned'],
    }),
  );
  assert.equal(refused.type, ERROR_TYPES.invalidInput);
  assert.equal(refused.nonRetryable, true);
  assert.equal(refused.details.code, 'command-not-allowed');
  assert.match(refused.message, /allowed: python/);
  const none = await stageFailure(
    runStage('command', createCommandStage(await config({})), store, stageContext('b'), { run: ['sh'] }),
  );
  assert.match(none.message, /FINEFLOW_COMMAND_ALLOW/);
});

test('exit codes: retryExitCodes are retryable, any other non-zero code fails for good with the last output', async () => {
  const store = memoryStore();
  const stage = createCommandStage(await config());
  const temporary = await stageFailure(
    runStage('command', stage, store, stageContext('t'), { run: ['sh', '-c', 'echo "db busy" >&2; exit 75'] }),
  );
  assert.equal(temporary.nonRetryable, false);
  assert.equal(temporary.details.code, 'command-exit-retryable');
  const broken = await stageFailure(
    runStage('command', stage, store, stageContext('b'), {
      run: ['sh', '-c', 'echo "Traceback: KeyError" >&2; exit 3'],
      retryExitCodes: [75, 4],
    }),
  );
  assert.equal(broken.nonRetryable, true);
  assert.equal(broken.details.code, 'command-failed');
  assert.equal(broken.details.exitCode, 3);
  assert.match(broken.message, /\[stderr\] Traceback: KeyError/);
});

test('outputs: a missing one fails unless optional; a symlink out of the work directory is never uploaded', async () => {
  const store = memoryStore();
  const stage = createCommandStage(await config());
  const missing = await stageFailure(
    runStage('command', stage, store, stageContext('m'), {
      run: ['sh', '-c', 'true'],
      outputs: { model: 'model.bin' },
    }),
  );
  assert.equal(missing.details.code, 'command-output-missing');
  const optional = await runStage('command', stage, store, stageContext('o'), {
    run: ['sh', '-c', 'true'],
    outputs: { model: { path: 'model.bin', optional: true } },
  });
  assert.deepEqual(optional.result.outputs.artifacts, {});
  const leak = await stageFailure(
    runStage('command', stage, store, stageContext('l'), {
      run: ['sh', '-c', 'ln -s /etc out; ln -s /etc/hostname stolen'],
      outputs: { a: { path: 'out/passwd' }, b: 'stolen' },
    }),
  );
  assert.equal(leak.nonRetryable, true);
  assert.match(String(leak.details.code), /command-path-outside|command-output-type/);
  assert.equal((await store.list(`s3://${BUCKET}/runs/unit-run-1/l/outputs/`)).length, 0);
});

test('cancelling ends the whole process group: SIGTERM first, SIGKILL after the grace period', async () => {
  const store = memoryStore();
  let grandchild = 0;
  const started = new Promise<void>((resolve) => {
    void (async () => {
      const failure = await stageFailure(
        runStage(
          'command',
          createCommandStage(await config()),
          store,
          stageContext('c'),
          {
            // Ignores SIGTERM, and leaves a grandchild that would outlive a plain kill of the child.
            run: ['sh', '-c', 'trap "" TERM; sleep 300 & echo "::fineflow:: {\\"message\\": \\"pid $!\\"}"; wait'],
            killGracePeriod: '1s',
          },
          {
            onEnvironment: (env) => {
              cancel = () => env.cancel();
            },
            onHeartbeat: (progress) => {
              const match = /pid (\d+)/.exec(progress.message ?? '');
              if (match && !grandchild) {
                grandchild = Number(match[1]);
                resolve();
              }
            },
          },
        ),
      );
      outcome = failure;
    })();
  });
  let cancel: () => void = () => undefined;
  let outcome: { message: string } | undefined;
  await started;
  assert.ok(processAlive(grandchild));
  cancel();
  while (outcome === undefined) await new Promise((r) => setImmediate(r));
  assert.match(outcome.message, /cancel/i);
  assert.equal(processAlive(grandchild), false, 'the grandchild was killed with its group');
});
