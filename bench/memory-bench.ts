/**
 * Training memory (issue 17, capacity planning): peak resident memory of a training process by
 * model and batch size, measured, not guessed. Each configuration trains in a fresh process (as
 * the worker's training child does: `trainModel` on a prepared dataset) and reports the kernel's
 * peak RSS (getrusage maxrss). The baseline, in the same invocation, is a process that loaded the
 * same TensorFlow backend and the same dataset but trained nothing; "training adds" is the
 * difference, and the ratio compares each batch size with the smallest one.
 *
 *   node --import tsx bench/memory-bench.ts [--batches 16,32,64,128] [--examples 800] [--epochs 2]
 *   npm run bench -- --only memory
 *
 * Models: the surface-defect CNN of the quickstart and ml bench (28×28×1, filters 8/16, 32
 * features), a wider CNN (filters 32/64, 128 features) to show how the model's size moves the
 * figure, and the tabular MLP (5 sensor columns, hidden 32/16). The project has no MobileNet-style
 * base. The machine is shared: peak RSS is steadier than time, but still read the ratios.
 */
import { spawnSync } from 'node:child_process';
import { loadTf } from '../src/ml/backend';
import { writeDataset } from '../src/ml/data/write-dataset';
import { generateDefects } from '../src/ml/generators/defects';
import type { LabelledSet } from '../src/ml/generators/image-set';
import { generateTabular } from '../src/ml/generators/tabular';
import type { ModelArchitecture } from '../src/ml/models/architectures';
import { trainModel } from '../src/ml/train/fine-tune';
import { createMemoryObjectStore } from '../src/storage/memory-store';
import { guardSectionArgs } from './bench-flags';

const BUCKET = 'bench';

interface ModelCase {
  readonly name: string;
  readonly architecture: ModelArchitecture;
  readonly data: (examples: number, seed: number) => LabelledSet;
}

const TABULAR_COLUMNS = ['temperature', 'pressure', 'vibration', 'speed', 'humidity'] as const;

/** The tabular generator's numeric sensor columns as a labelled set (no missing values). */
function tabularSet(examples: number, seed: number): LabelledSet {
  const rows = generateTabular({ rows: examples, seed, domain: 'source' });
  const features = new Float32Array(rows.length * TABULAR_COLUMNS.length);
  rows.forEach((row, i) => TABULAR_COLUMNS.forEach((c, j) => (features[i * TABULAR_COLUMNS.length + j] = row[c] ?? 0)));
  return {
    featureShape: [TABULAR_COLUMNS.length],
    classes: ['fail', 'pass'],
    features,
    labels: Int32Array.from(rows, (row) => (row.label === 'fail' ? 0 : 1)),
  };
}

const defects = (examples: number, seed: number): LabelledSet =>
  generateDefects({ perClass: Math.ceil(examples / 4), seed, surface: 'brushed' });

const MODELS: readonly ModelCase[] = [
  {
    name: 'surface CNN (28×28×1, filters 8/16, 32 features)',
    architecture: { kind: 'cnn', inputShape: [28, 28, 1], filters: [8, 16], featureUnits: 32, pooling: 'max' },
    data: defects,
  },
  {
    name: 'wide CNN (28×28×1, filters 32/64, 128 features)',
    architecture: { kind: 'cnn', inputShape: [28, 28, 1], filters: [32, 64], featureUnits: 128, pooling: 'flatten' },
    data: defects,
  },
  {
    name: 'tabular MLP (5 columns, hidden 32/16)',
    architecture: { kind: 'mlp', inputShape: [5], hidden: [32, 16] },
    data: tabularSet,
  },
];

interface OneCase {
  readonly model: number;
  /** 0 = baseline: load the backend and the dataset, train nothing. */
  readonly batchSize: number;
  readonly examples: number;
  readonly epochs: number;
}

interface OneResult {
  readonly peakRssMb: number;
  readonly backend: string;
  /** The training engine that ran (graph or eager); `none` for the baseline. */
  readonly engine: string;
  readonly seconds: number;
}

/** In the measured child: prepare the data in memory, train (unless baseline), report peak RSS. */
async function measureOne(one: OneCase): Promise<OneResult> {
  const model = MODELS[one.model];
  if (!model) throw new Error(`no model ${one.model}`);
  const { backend } = loadTf({ preference: 'auto' });
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  const dataset = await writeDataset(store, `s3://${BUCKET}/data`, {
    train: model.data(one.examples, 1),
    validation: model.data(Math.ceil(one.examples / 4), 2),
  });
  const started = performance.now();
  const trained =
    one.batchSize > 0
      ? await trainModel(store, {
          mode: 'from-scratch',
          architecture: model.architecture,
          datasetUri: dataset.manifestUri,
          outputUri: `s3://${BUCKET}/model`,
          registryBucket: BUCKET,
          hyperparameters: { epochs: one.epochs, batchSize: one.batchSize, learningRate: 0.003, seed: 1 },
        })
      : undefined;
  return {
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    backend,
    engine: trained?.engine ?? 'none',
    seconds: (performance.now() - started) / 1000,
  };
}

function runChild(one: OneCase): OneResult {
  const child = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--one', JSON.stringify(one)], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 16 * 2 ** 20,
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('{"peakRssMb"'));
  if (child.status !== 0 || !line)
    throw new Error(`measurement ${JSON.stringify(one)} failed: ${child.stderr.slice(-2000)}`);
  return JSON.parse(line) as OneResult;
}

function listArg(argv: readonly string[], name: string, fallback: readonly number[]): number[] {
  const index = argv.indexOf(name);
  if (index < 0) return [...fallback];
  const values = (argv[index + 1] ?? '').split(',').map(Number);
  if (values.some((n) => !Number.isInteger(n) || n < 1 || n > 4096))
    throw new Error(`${name} takes whole numbers from 1 to 4096, e.g. ${name} ${fallback.join(',')}`);
  return values;
}

function main(argv: readonly string[]): void {
  const batches = listArg(argv, '--batches', [16, 32, 64, 128]);
  const [examples = 800] = listArg(argv, '--examples', [800]);
  const [epochs = 2] = listArg(argv, '--epochs', [2]);
  console.log(`memory: peak RSS of one training process, ${examples} examples, ${epochs} epochs (shared machine)`);
  console.log('| model | batch | peak RSS | training adds | vs smallest batch | backend / engine |');
  console.log('|---|---|---|---|---|---|');
  MODELS.forEach((model, index) => {
    const baseline = runChild({ model: index, batchSize: 0, examples, epochs });
    console.log(
      `| ${model.name} | (none: backend + data) | ${baseline.peakRssMb.toFixed(0)} MiB | — | — | ${baseline.backend} |`,
    );
    let smallest: number | undefined;
    for (const batchSize of batches) {
      const result = runChild({ model: index, batchSize, examples, epochs });
      const adds = result.peakRssMb - baseline.peakRssMb;
      smallest ??= result.peakRssMb;
      console.log(
        `| ${model.name} | ${batchSize} | ${result.peakRssMb.toFixed(0)} MiB | ${adds.toFixed(0)} MiB | ` +
          `${(result.peakRssMb / smallest).toFixed(2)}× | ${result.backend} / ${result.engine} |`,
      );
    }
  });
}

const oneIndex = process.argv.indexOf('--one');
if (oneIndex >= 0) {
  measureOne(JSON.parse(process.argv[oneIndex + 1] ?? '{}') as OneCase).then(
    (result) => console.log(JSON.stringify(result)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
} else if (require.main === module) {
  guardSectionArgs('memory', process.argv.slice(2));
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
