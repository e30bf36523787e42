/**
 * The set-up the CLI tests of a stored table model share (`fineflow predict`, `fineflow models export`), on the real
 * MinIO of the test stack: a fresh bucket holding the sensor model of sensor-model.ts with its preprocessing.json
 * (registered as NAME@champion when asked), a temporary directory the CLI runs in, and the CLI pointed at both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /** Created if missing; FINEFLOW_BUCKET of every CLI call. */
  readonly bucket: string;
  /** The temporary directory's name prefix. */
  readonly dirPrefix: string;
  /** Where the model is saved (its preprocessing.json beside it). */
  readonly modelUri: string;
  readonly preprocessing: TablePreprocessing;
  /** A seeded MLP over the preprocessing's features, one output per class. */
  readonly mlp: { readonly hidden: readonly number[]; readonly seed: number };
  /** Registers the model as `<register>@champion` in `bucket`. */
  readonly register?: string;
}

export interface SensorModelCli {
  /** The CLI's working directory, removed by `close`. */
  readonly dir: string;
  readonly store: ObjectStore;
  /** `fineflow ARGV…` in `dir`, with FINEFLOW_BUCKET set and no file-root restriction. */
  fineflow(...argv: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

export async function startSensorModelCli(options: SensorModelCliOptions): Promise<SensorModelCli> {
  await requireStack();
  const { bucket, preprocessing } = options;
  const dir = await mkdtemp(join(tmpdir(), options.dirPrefix));
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
  await storeModel(tf, store, model, options.modelUri, preprocessing, register);
  return {
    dir,
    store,
    fineflow: (...argv) => runCli(argv, { env: { FINEFLOW_BUCKET: bucket, FINEFLOW_FILE_ROOTS: '' }, cwd: dir }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
