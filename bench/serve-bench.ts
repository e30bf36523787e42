/**
 * Serve benchmark (`npm run bench -- --only serve`): requests/s and p50/p99 latency of
 * `fineflow serve`'s HTTP server (src/serve/predict-server.ts) on loopback, for single-instance
 * and batched requests, sequential and with concurrent clients, each as a ratio to the baseline
 * measured in the same process: the model's own `predict` on already-encoded features (no HTTP,
 * no JSON, no preprocessing). The model is a churn-sized table MLP with stored preprocessing,
 * in the in-memory store (no MinIO needed: loading is not what is measured).
 * Numbers on a shared machine are noisy; the ratios are what to compare.
 */
import { loadTf } from '../src/ml/backend';
import { PREPROCESSING_FORMAT, type TablePreprocessing } from '../src/ml/data/preprocessing';
import { writePreprocessingBeside } from '../src/ml/data/preprocessing-file';
import { buildModel } from '../src/ml/models/architectures';
import { saveModel } from '../src/ml/models/load-model';
import { inputsOf, loadPredictor, type Predictor } from '../src/ml/predict/predictor';
import { startPredictServer } from '../src/serve/predict-server';
import { createMemoryObjectStore } from '../src/storage/memory-store';
import { guardSectionArgs } from './bench-flags';

const MODEL = 's3://fineflow/models/churn/model.json';
const PLANS = ['basic', 'plus', 'pro'];
const REGIONS = ['north', 'south', 'east', 'west'];
const PREPROCESSING: TablePreprocessing = {
  format: PREPROCESSING_FORMAT,
  kind: 'table',
  classes: ['no', 'yes'],
  featureShape: [10],
  labelColumn: 'churned',
  naValues: ['NA'],
  normalize: true,
  columns: [
    { name: 'tenureMonths', kind: 'numeric', mean: 24, std: 12 },
    { name: 'monthlySpend', kind: 'numeric', mean: 60, std: 25 },
    { name: 'supportTickets', kind: 'numeric', mean: 2, std: 1.5 },
    { name: 'plan', kind: 'categorical', categories: PLANS },
    { name: 'region', kind: 'categorical', categories: REGIONS },
  ],
};

interface Timing {
  readonly requests: number;
  readonly instances: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function instance(i: number): Record<string, string | number> {
  return {
    tenureMonths: (i * 7) % 60,
    monthlySpend: 20 + ((i * 13) % 90),
    supportTickets: i % 6,
    plan: PLANS[i % PLANS.length] ?? 'basic',
    region: REGIONS[i % REGIONS.length] ?? 'north',
  };
}

/** `clients` loops, each doing `perClient` calls of `call`, all at once. */
async function measure(
  clients: number,
  perClient: number,
  batch: number,
  call: (offset: number) => Promise<void>,
): Promise<Timing> {
  const latenciesMs: number[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let r = 0; r < perClient; r += 1) {
        const t0 = process.hrtime.bigint();
        await call((client * perClient + r) * batch);
        latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { requests: clients * perClient, instances: clients * perClient * batch, seconds, latenciesMs };
}

function report(label: string, timing: Timing, baseline?: Timing): void {
  const sorted = [...timing.latenciesMs].sort((a, b) => a - b);
  const rps = timing.requests / timing.seconds;
  const ips = timing.instances / timing.seconds;
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  let ratio = '';
  if (baseline) {
    const base = [...baseline.latenciesMs].sort((a, b) => a - b);
    const baseIps = baseline.instances / baseline.seconds;
    ratio = `  | vs in-process: ${(ips / baseIps).toFixed(2)}× throughput, p50 ${(p50 / percentile(base, 50)).toFixed(1)}× latency`;
  }
  process.stdout.write(
    `  ${label.padEnd(34)} ${rps.toFixed(0).padStart(6)} req/s ${ips.toFixed(0).padStart(7)} inst/s  p50 ${p50.toFixed(2).padStart(6)} ms  p99 ${p99.toFixed(2).padStart(6)} ms${ratio}\n`,
  );
}

async function setup(): Promise<Predictor> {
  const { tf, backend } = loadTf({ preference: 'auto' });
  process.stdout.write(`  tfjs backend: ${backend}\n`);
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  const model = buildModel(tf, { kind: 'mlp', inputShape: [10], hidden: [64, 32] }, { numClasses: 2, seed: 1 });
  await saveModel(tf, store, model, MODEL);
  model.dispose();
  await writePreprocessingBeside(store, MODEL, PREPROCESSING);
  return loadPredictor(tf, store, MODEL, { registryBucket: 'fineflow' });
}

async function main(): Promise<void> {
  const predictor = await setup();
  const { tf, model } = predictor;
  const pool = Array.from({ length: 4096 }, (_, i) => instance(i));
  const features = (offset: number, batch: number) =>
    inputsOf(
      predictor,
      pool.slice(offset % 4000, (offset % 4000) + batch).map((cells, i) => ({ kind: 'row', where: `r${i}`, cells })),
    );
  const direct = (batch: number) => {
    const encoded = features(0, batch);
    return async () => {
      tf.tidy(() => (model.predict(tf.tensor(encoded, [batch, 10])) as ReturnType<typeof tf.tensor>).dataSync());
    };
  };
  const server = await startPredictServer(Promise.resolve(predictor), { limits: { maxBatch: 64 } });
  const post = (batch: number) => async (offset: number) => {
    const body = JSON.stringify({ instances: pool.slice(offset % 4000, (offset % 4000) + batch) });
    const response = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  };
  try {
    // Warm-up: first calls compile kernels and open the keep-alive connection.
    await measure(1, 50, 1, direct(1));
    const base1 = await measure(1, 500, 1, direct(1));
    const base32 = await measure(1, 200, 32, direct(32));
    await measure(1, 50, 1, post(1));
    await measure(1, 20, 32, post(32));
    report('in-process model.predict, 1', base1);
    report('in-process model.predict, 32', base32);
    report('serve, 1 instance/request', await measure(1, 500, 1, post(1)), base1);
    report('serve, 32 instances/request', await measure(1, 200, 32, post(32)), base32);
    report('serve, 1 instance, 8 clients', await measure(8, 100, 1, post(1)), base1);
    report('serve, 32 instances, 8 clients', await measure(8, 40, 32, post(32)), base32);
  } finally {
    await server.close();
    model.dispose();
  }
}

guardSectionArgs('serve', process.argv.slice(2));
main().catch((error: unknown) => {
  process.stderr.write(
    `serve bench: ${String(error instanceof Error ? error.stack : error)} ${String((error as { cause?: unknown }).cause)}\n`,
  );
  process.exitCode = 1;
});
