/**
 * The set-up the CLI tests of a stored table model share (`fineflow predict`, `fineflow models export`), on the real
 * MinIO of the test stack: a fresh bucket holding the sensor model of sensor-model.ts with its preprocessing.json
 * (registered as NAME@champion when asked), a temporary directory the CLI runs in, and the CLI pointed at both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { loadConfig } from '../../src/config';
import { loadTf } from '../../src/ml/backend';
import type { TablePreprocessing } from '../../src/ml/data/preprocessing';
import { buildModel } from '../../src/ml/models/architectures';
import { createObjectStoreFromConfig } from '../../src/storage/minio-store';
import type { ObjectStore } from '../../src/storage/object-store';
import { runCli, type CliResult } from './cli';
import { storeModel } from './sensor-model';
import { requireStack } from './stack';

export interface SensorModelCliOptions {
  /** Names the bucket (`ff<name>-<random>`, created; FINEFLOW_BUCKET of every CLI call) and the temporary directory. */
  readonly name: string;
  /** Where in the bucket the model is saved (its preprocessing.json beside it). */
  readonly modelKey: string;
  readonly preprocessing: TablePreprocessing;
  /** A seeded MLP over the preprocessing's features, one output per class. */
  readonly mlp: { readonly hidden: readonly number[]; readonly seed: number };
  /** Registers the model as `<register>@champion` in the bucket. */
  readonly register?: string;
}

export interface SensorModelCli {
  readonly bucket: string;
  /** `s3://<bucket>/<modelKey>`. */
  readonly modelUri: string;
  /** The CLI's working directory, removed after the file's tests. */
  readonly dir: string;
  readonly store: ObjectStore;
  /** `fineflow ARGV…` in `dir`, with FINEFLOW_BUCKET set and no file-root restriction. */
  fineflow(...argv: string[]): Promise<CliResult>;
}

/**
 * The test file's sensor-model CLI: started in a `before` hook (then `prepare`, e.g. writing input files), its
 * directory removed in an `after` hook. `bucket` and `modelUri` are known at once; the rest once `before` has run.
 */
export function sensorModelCli(
  options: SensorModelCliOptions,
  prepare?: (cli: SensorModelCli) => Promise<unknown>,
): SensorModelCli {
  const bucket = `ff${options.name}-${Math.random().toString(36).slice(2, 8)}`;
  const modelUri = `s3://${bucket}/${options.modelKey}`;
  let started: (SensorModelCli & { close(): Promise<void> }) | undefined;
  const current = (): SensorModelCli => {
    if (!started) throw new Error('the sensor-model CLI starts in the before hook');
    return started;
  };
  before(async () => {
    started = await startSensorModelCli(options, bucket, modelUri);
    await prepare?.(started);
  });
  after(() => started?.close());
  return {
    bucket,
    modelUri,
    get dir() {
      return current().dir;
    },
    get store() {
      return current().store;
    },
    fineflow: (...argv) => current().fineflow(...argv),
  };
}

async function startSensorModelCli(
  options: SensorModelCliOptions,
  bucket: string,
  modelUri: string,
): Promise<SensorModelCli & { close(): Promise<void> }> {
  await requireStack();
  const { preprocessing } = options;
  const dir = await mkdtemp(join(tmpdir(), `ff-${options.name}-`));
  const store = createObjectStoreFromConfig(loadConfig(process.env));
  await store.ensureBucket(bucket);
  const { tf } = loadTf({ preference: 'auto' });
  const [features = 0] = preprocessing.featureShape;
  const model = buildModel(
    tf,
    { kind: 'mlp', inputShape: [features], hidden: [...options.mlp.hidden] },
    { numClasses: preprocessing.classes.length, seed: options.mlp.seed },
  );
  const register = options.register === undefined ? undefined : { bucket, name: options.register };
  await storeModel(tf, store, model, modelUri, preprocessing, register);
  return {
    bucket,
    modelUri,
    dir,
    store,
    fineflow: (...argv) => runCli(argv, { env: { FINEFLOW_BUCKET: bucket, FINEFLOW_FILE_ROOTS: '' }, cwd: dir }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
