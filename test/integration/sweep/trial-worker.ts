/**
 * A pool worker process for the sweep tests: polls `fineflow-<pool>` and runs the sweep's
 * activities with the production training runner (a training child process per segment).
 * Usage: node --import tsx trial-worker.ts --pool P --identity NAME [--concurrency N]
 * Prints `{"event":"ready"}` once polling. Config (Temporal, MinIO) from the environment.
 */
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createSweepTrialActivities } from '../../../activities/sweep-trial';
import { loadConfig } from '../../../src/config';
import { connectWorker, dataConverterFor } from '../../../src/client/temporal-connection';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { pool: { type: 'string' }, identity: { type: 'string' }, concurrency: { type: 'string', default: '1' } },
  });
  if (!values.pool || !values.identity)
    throw new Error('usage: trial-worker.ts --pool P --identity NAME [--concurrency N]');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig(process.env);
  const store = createObjectStoreFromConfig(config);
  const worker = await Worker.create({
    connection: await connectWorker(config.temporal),
    dataConverter: dataConverterFor(config.temporal),
    namespace: config.temporal.namespace,
    taskQueue: taskQueueForPool(values.pool),
    identity: values.identity,
    activities: createSweepTrialActivities({
      store,
      workerIdentity: values.identity,
      ml: { tfBackend: config.tfBackend, trainEngine: config.trainEngine },
    }),
    maxConcurrentActivityTaskExecutions: Number(values.concurrency),
    shutdownGraceTime: '1s',
  });
  const running = worker.run();
  process.stdout.write(`${JSON.stringify({ event: 'ready', identity: values.identity })}\n`);
  const stop = (): void => worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await running;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
