/**
 * Client side of the production-shaped stack (`FINEFLOW_STACK_PROFILE=prod infra/stack.sh up`):
 * the workers run on worker hosts (network namespaces) started by the stack, so this harness only
 * connects a client and a store (as the CLI user) from the root namespace, writes a dataset, and
 * drives the chaos helpers of infra/stack-prod.sh. Run by scripts/test-prod.sh.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { RunClient } from '../../src/client/run-client';
import { listStageLogs, stageLogText as readLogText } from '../../src/client/run-logs';
import { loadConfig, type FineflowConfig } from '../../src/config';
import { writeDataset } from '../../src/ml/data/write-dataset';
import { loadMnist } from '../../src/ml/generators/mnist';
import type { RunState } from '../../src/core/run/run-types';
import { CONTROL_POOL, taskQueueForPool } from '../../src/core/run/task-queues';
import { connectClient } from '../../src/client/temporal-connection';
import type { Plan } from '../../src/core/spec/plan-types';
import { createObjectStoreFromConfig } from '../../src/storage/minio-store';
import type { ObjectStore } from '../../src/storage/object-store';
import { makePlan } from '../fixtures/runtime/plans';

const REPO = path.resolve(__dirname, '../..');
export const STATE_DIR = process.env.FINEFLOW_PROD_STATE_DIR ?? '';

export interface ProdHarness {
  readonly config: FineflowConfig;
  readonly store: ObjectStore;
  readonly client: Client;
  readonly runs: RunClient;
  readonly dataset: string;
  close(): Promise<void>;
}

export async function startProdHarness(): Promise<ProdHarness> {
  if (!STATE_DIR || process.env.FINEFLOW_STACK_PROFILE !== 'prod') {
    throw new Error('run via scripts/test-prod.sh: it starts the prod-profile stack and exports its environment');
  }
  const config = loadConfig(process.env);
  const store = createObjectStoreFromConfig(config);
  const client = await connectClient(config.temporal);
  const runs = new RunClient(client, { bucket: config.s3.bucket, workflowTaskQueue: taskQueueForPool(CONTROL_POOL) });
  const { manifestUri: dataset } = await writeDataset(
    store,
    `s3://${config.s3.bucket}/prod-test-data/mnist-${Date.now()}`,
    {
      train: loadMnist({ perClass: 60, seed: 1 }),
      validation: loadMnist({ perClass: 10, offset: 60, seed: 2 }),
      test: loadMnist({ perClass: 10, offset: 70, seed: 3 }),
    },
  );
  return { config, store, client, runs, dataset, close: () => client.connection.close() };
}

/** A one-stage fine-tune on the train pool, checkpointing every epoch. */
export function fineTunePlan(name: string, dataset: string, epochs: number, heartbeatTimeoutMs = 10_000): Plan {
  return makePlan(name, [
    {
      id: 'finetune',
      uses: 'fine-tune',
      pool: 'train',
      with: {
        architecture: 'small-cnn',
        data: dataset,
        epochs,
        batchSize: 8,
        learningRate: 0.001,
        freeze: 'none',
        checkpoint: { everyEpochs: 1 },
        seed: 1,
      },
      timeoutMs: 600_000,
      heartbeatTimeoutMs,
      retry: { maxAttempts: 4, initialIntervalMs: 500, backoffCoefficient: 1, maximumIntervalMs: 1_000 },
    },
  ]);
}

/** Submits a fine-tune of `epochs`, waits for `atEpoch`, runs `disrupt`, and returns the result with the scenario's figures. */
export async function underChaos(
  h: ProdHarness,
  name: string,
  disrupt: () => Promise<void> | void,
  { atEpoch = 2, epochs = 12 }: { atEpoch?: number; epochs?: number } = {},
) {
  const runId = await h.runs.submit(fineTunePlan(name, h.dataset, epochs));
  const before = await waitForState(h, runId, (state) => epochOf(state) >= atEpoch, 300_000);
  const disruptedAt = Date.now();
  const epochAtDisruption = epochOf(before);
  await disrupt();
  // Time lost: from the disruption until training is past the epoch it had reached.
  await waitForState(h, runId, (state) => epochOf(state) > epochAtDisruption || state.endedAt !== undefined, 300_000);
  const timeLostMs = Date.now() - disruptedAt;
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
  const byAttempt = await epochsByAttempt(h, runId);
  return {
    runId,
    result,
    byAttempt,
    figures: {
      epochAtDisruption,
      epochsRedone: epochsRedone(byAttempt),
      timeLostMs,
      attempts: result.stages[0]?.attempts ?? 0,
    },
  };
}

/** infra/stack-prod.sh with the stack's environment (chaos helpers). */
export function stackProd(...args: string[]): void {
  execFileSync('bash', [path.join(REPO, 'infra/stack-prod.sh'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the run state until `predicate` holds; throws with the stage logs when the run ends first or time runs out. */
export async function waitForState(
  h: ProdHarness,
  runId: string,
  predicate: (state: RunState) => boolean,
  timeoutMs: number,
): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  let last: RunState | undefined;
  while (Date.now() < deadline) {
    try {
      last = await h.runs.state(runId);
      if (predicate(last)) return last;
      if (last.endedAt) break;
    } catch {
      // Temporal may be restarting (chaos): keep polling until the deadline.
    }
    await sleep(250);
  }
  throw new Error(`condition not reached; last state ${JSON.stringify(last?.stages)}\n${await stageLogText(h, runId)}`);
}

export const epochOf = (state: RunState): number => {
  const epoch = state.stages[0]?.progress?.detail?.epoch;
  return typeof epoch === 'number' ? epoch : 0;
};

export async function stageLogText(h: ProdHarness, runId: string): Promise<string> {
  const logs = await listStageLogs(h.store, h.config.s3.bucket, runId);
  const texts = await Promise.all(
    logs.map(async (log) => `--- ${log.stageId}#${log.attempt}\n${await readLogText(h.store, log)}`),
  );
  return texts.join('\n');
}

/** Epoch numbers each attempt of the stage logged (`epoch N/T` lines), by attempt. */
export async function epochsByAttempt(h: ProdHarness, runId: string): Promise<Map<number, number[]>> {
  const byAttempt = new Map<number, number[]>();
  for (const log of await listStageLogs(h.store, h.config.s3.bucket, runId, 'finetune')) {
    const text = await readLogText(h.store, log);
    byAttempt.set(
      log.attempt,
      [...text.matchAll(/ epoch (\d+)\/\d+ /g)].map((m) => Number(m[1])),
    );
  }
  return byAttempt;
}

/** Epochs trained more than once across attempts. */
export function epochsRedone(byAttempt: Map<number, number[]>): number {
  const all = [...byAttempt.values()].flat();
  return all.length - new Set(all).size;
}

/** The worker host whose train worker runs a training child right now (pid files of the stack). */
export function hostTraining(): string | undefined {
  const workers = readdirSync(STATE_DIR).filter((f) => /^worker-.+-train\.pid$/.test(f));
  for (const file of workers) {
    const pid = readFileSync(path.join(STATE_DIR, file), 'utf8').trim();
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
        if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('training-worker'))
          return /^worker-(.+)-train\.pid$/.exec(file)?.[1];
      } catch {
        // the process ended while we looked
      }
    }
  }
  return undefined;
}

/** One scenario's figures, printed as a line the CI log and the note can quote. */
export function report(scenario: string, figures: Record<string, number | string>): void {
  process.stdout.write(
    `chaos: ${scenario}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}\n`,
  );
}
