/**
 * `fineflow models export --format keras|savedmodel` round trips against the real MinIO of the
 * test stack, with TensorFlow in Python (the venv infra/keras/setup-venv.sh creates and caches).
 * A registered table model (MLP, numeric + categorical columns, NA) and a registered image model
 * (CNN with batch normalisation whose moving statistics were trained, RGBA input of another size)
 * are exported in both formats; Python loads each export the way its users do
 * (`keras.models.load_model`, `tf.saved_model.load(...).signatures['serving_default']`), is given
 * the raw inputs encoded by the exported preprocessing.json, and its probabilities must equal
 * `fineflow predict`'s on the same CSV rows and PNG files within 1e-5 (float32 kernels of two
 * runtimes differ in rounding only). Refusals: no overwrite, no Python.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { PNG } from 'pngjs';
import { loadConfig } from '../../../src/config';
import { loadTf, type Tf } from '../../../src/ml/backend';
import {
  applyToImages,
  applyToRows,
  PREPROCESSING_FORMAT,
  type ImagePreprocessing,
  type Preprocessing,
  type TablePreprocessing,
} from '../../../src/ml/data/preprocessing';
import { buildModel, type LayersModel } from '../../../src/ml/models/architectures';
import { KERAS_EXPORT_SCRIPT } from '../../../src/ml/models/export-python';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import { runCli, type CliResult } from '../../helpers/cli';
import { SENSOR_CSV, sensorPreprocessing, storeModel } from '../../helpers/sensor-model';
import { requireStack } from '../../helpers/stack';

const TOLERANCE = 1e-5;
const REPO = join(__dirname, '../../..');
let dir: string;
let python: string;
const bucket = `ffkeras-${Math.random().toString(36).slice(2, 8)}`;

const table = sensorPreprocessing(['pass', 'fail', 'unsure']);
const CSV = SENSOR_CSV;

const image: ImagePreprocessing = {
  format: PREPROCESSING_FORMAT,
  kind: 'image',
  classes: ['ok', 'scratch'],
  featureShape: [12, 12, 3],
  size: [12, 12],
  channels: 3,
  background: [255, 255, 255],
  normalize: true,
  mean: [0.4, 0.5, 0.6],
  std: [0.2, 0.25, 0.3],
};

function fineflow(...argv: string[]): Promise<CliResult> {
  return runCli(argv, {
    env: { FINEFLOW_BUCKET: bucket, FINEFLOW_FILE_ROOTS: '', FINEFLOW_EXPORT_PYTHON: python },
    cwd: dir,
  });
}

/** An RGBA PNG of `side`×`side` with a half-transparent stripe (exercises resize and alpha compositing). */
function rgbaPng(side: number, seed: number): Buffer {
  const png = new PNG({ width: side, height: side });
  for (let i = 0; i < side * side; i += 1) {
    const [x, y] = [i % side, Math.floor(i / side)];
    png.data[i * 4] = (x * 37 + seed * 11) % 256;
    png.data[i * 4 + 1] = (y * 53 + seed * 7) % 256;
    png.data[i * 4 + 2] = ((x + y) * 19 + seed) % 256;
    png.data[i * 4 + 3] = Math.abs(x - y) < 3 ? 128 : 255;
  }
  return PNG.sync.write(png);
}

/** A CNN whose batch-norm moving statistics and weights moved away from their initial values. */
async function trainedCnn(tf: Tf): Promise<LayersModel> {
  const model = buildModel(tf, { kind: 'cnn', inputShape: [12, 12, 3], filters: [4, 8] }, { numClasses: 2, seed: 5 });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const x = tf.randomNormal([32, 12, 12, 3], 0.3, 1.2, 'float32', 3);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => i % 2),
      'int32',
    ),
    2,
  );
  await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
  tf.dispose([x, y]);
  return model;
}

async function register(tf: Tf, name: string, model: LayersModel, preprocessing: Preprocessing): Promise<void> {
  const store = createObjectStoreFromConfig(loadConfig(process.env));
  const source = `s3://${bucket}/runs/r1/${name}/model/model.json`;
  await storeModel(tf, store, model, source, preprocessing, { bucket, name });
}

before(async () => {
  await requireStack();
  // The project's own setup: creates the venv from PyPI once, then only checks that it imports.
  python =
    execFileSync('bash', [join(REPO, 'infra/keras/setup-venv.sh')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1) ?? '';
  dir = await mkdtemp(join(tmpdir(), 'ff-export-keras-'));
  await createObjectStoreFromConfig(loadConfig(process.env)).ensureBucket(bucket);
  const { tf } = loadTf({ preference: 'auto' });
  await register(
    tf,
    'sensors',
    buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [8] }, { numClasses: 3, seed: 11 }),
    table,
  );
  await register(tf, 'scratches', await trainedCnn(tf), image);
  await writeFile(join(dir, 'rows.csv'), CSV);
  await mkdir(join(dir, 'images'));
  for (const [i, side] of [20, 12, 7].entries()) await writeFile(join(dir, 'images', `p${i}.png`), rgbaPng(side, i));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `fineflow predict`'s probabilities, in class order, one row per input. */
async function fineflowProbabilities(model: string, input: string, classes: readonly string[]): Promise<number[][]> {
  const predicted = await fineflow('predict', model, input, '--format', 'jsonl');
  assert.equal(predicted.code, 0, predicted.stderr);
  return predicted.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const { probabilities } = JSON.parse(line) as { probabilities: Record<string, number> };
      return classes.map((name) => probabilities[name] ?? NaN);
    });
}

/** The exported model's probabilities, computed by TensorFlow in Python from features the exported preprocessing made. */
async function pythonProbabilities(
  format: string,
  path: string,
  shape: number[],
  values: Float32Array,
): Promise<number[][]> {
  const features = join(dir, `features-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(features, JSON.stringify({ shape, values: Array.from(values) }));
  const script = join(REPO, 'test/fixtures/export/keras-predict.py');
  const stdout = execFileSync(python, [script, format, path, features], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: dir, TF_CPP_MIN_LOG_LEVEL: '3', KERAS_BACKEND: 'tensorflow' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as number[][];
}

function assertClose(actual: number[][], expected: number[][], what: string): void {
  assert.equal(actual.length, expected.length, what);
  expected.forEach((row, i) =>
    row.forEach((want, c) =>
      assert.ok(
        Math.abs((actual[i]?.[c] ?? NaN) - want) <= TOLERANCE,
        `${what} row ${i} class ${c}: ${actual[i]?.[c]} vs ${want}`,
      ),
    ),
  );
}

interface ExportJson {
  format: string;
  files: { [file: string]: string };
  verification: { maxAbsDifference: number; tolerance: number; probeExamples: number; keras: string };
}

async function exportAs(model: string, format: string, output: string): Promise<ExportJson> {
  const exported = await fineflow('models', 'export', `${model}@champion`, '--format', format, '--output', output);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, new RegExp(`as ${format} to .*reloaded by Keras 3\\.`));
  const record = JSON.parse(await readFile(join(dir, output, 'export.json'), 'utf8')) as ExportJson;
  assert.equal(record.format, format);
  assert.ok(record.verification.maxAbsDifference <= TOLERANCE, JSON.stringify(record.verification));
  assert.equal(record.verification.probeExamples, 8);
  assert.ok('preprocessing.json' in record.files);
  return record;
}

for (const format of ['keras', 'savedmodel'] as const) {
  const artefact = (output: string): string => join(dir, output, format === 'keras' ? 'model.keras' : 'savedmodel');

  it(`${format}: the table model in Python, fed rows the exported preprocessing encodes, predicts what fineflow predict does`, async () => {
    const record = await exportAs('sensors', format, `sensors-${format}`);
    if (format === 'keras') assert.deepEqual(Object.keys(record.files), ['model.keras', 'preprocessing.json']);
    else assert.ok(Object.keys(record.files).includes('savedmodel/saved_model.pb'), Object.keys(record.files).join());
    const stored = JSON.parse(
      await readFile(join(dir, `sensors-${format}`, 'preprocessing.json'), 'utf8'),
    ) as TablePreprocessing;
    assert.deepEqual(stored, table);
    const [header, ...lines] = CSV.trim().split('\n');
    const columns = (header ?? '').split(',');
    const rows = lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [columns[i], cell])));
    const features = applyToRows(stored, rows, (i) => `row ${i + 1}`);
    const actual = await pythonProbabilities(format, artefact(`sensors-${format}`), [rows.length, 4], features);
    assertClose(
      actual,
      await fineflowProbabilities('sensors@champion', 'rows.csv', table.classes),
      `sensors ${format}`,
    );
  });

  it(`${format}: the image CNN in Python, fed PNGs the exported preprocessing encodes (resize, alpha), predicts what fineflow predict does`, async () => {
    await exportAs('scratches', format, `scratches-${format}`);
    const stored = JSON.parse(
      await readFile(join(dir, `scratches-${format}`, 'preprocessing.json'), 'utf8'),
    ) as ImagePreprocessing;
    assert.deepEqual(stored, image);
    const names = ['p0.png', 'p1.png', 'p2.png'];
    const images = await Promise.all(
      names.map(async (name) => ({ bytes: await readFile(join(dir, 'images', name)), where: name })),
    );
    const features = applyToImages(stored, images);
    const actual = await pythonProbabilities(format, artefact(`scratches-${format}`), [3, 12, 12, 3], features);
    assertClose(
      actual,
      await fineflowProbabilities('scratches@champion', 'images', image.classes),
      `scratches ${format}`,
    );
  });
}

it('refuses a non-empty directory and a file as the output directory', async () => {
  const again = await fineflow(
    'models',
    'export',
    'sensors@champion',
    '--format',
    'keras',
    '--output',
    'sensors-keras',
  );
  assert.equal(again.code, 1);
  assert.match(again.stderr, /sensors-keras is not empty; export into a new or empty directory/);
  await writeFile(join(dir, 'a-file'), 'x');
  const file = await fineflow('models', 'export', 'sensors@champion', '--format', 'keras', '--output', 'a-file');
  assert.equal(file.code, 1);
  assert.match(file.stderr, /a-file is a file; export into a new or empty directory/);
});

it('without a Python with TensorFlow, says how to get one (exit 3) and writes nothing', async () => {
  const missing = await runCli(['models', 'export', 'sensors@champion', '--format', 'savedmodel', '--output', 'none'], {
    env: { FINEFLOW_BUCKET: bucket, FINEFLOW_EXPORT_PYTHON: '', FINEFLOW_CACHE_DIR: join(dir, 'empty-cache') },
    cwd: dir,
  });
  assert.equal(missing.code, 3);
  assert.match(
    missing.stderr,
    /need Python with TensorFlow 2\.16\+ .*infra\/keras\/setup-venv\.sh.*FINEFLOW_EXPORT_PYTHON/,
  );
  await assert.rejects(readFile(join(dir, 'none', 'export.json')), { code: 'ENOENT' });
});

it('the converter refuses a layer Fineflow does not build (a Lambda in an untrusted model.json) before Keras reads it', async () => {
  const exported = await fineflow('models', 'export', 'sensors@champion', '--format', 'tfjs', '--output', 'tfjs');
  assert.equal(exported.code, 0, exported.stderr);
  const modelJson = JSON.parse(await readFile(join(dir, 'tfjs', 'model.json'), 'utf8')) as {
    modelTopology: { config: { layers: object[] } };
  };
  modelJson.modelTopology.config.layers[1] = { class_name: 'Lambda', config: { function: 'print("hi")' } };
  await writeFile(join(dir, 'tfjs', 'model.json'), JSON.stringify(modelJson));
  const run = spawnSync(
    python,
    [
      KERAS_EXPORT_SCRIPT,
      '--tfjs',
      join(dir, 'tfjs'),
      '--format',
      'keras',
      '--output',
      join(dir, 'lambda.keras'),
      '--probe',
      join(dir, 'no-probe.json'),
      '--tolerance',
      '1e-5',
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dir, TF_CPP_MIN_LOG_LEVEL: '3' } },
  );
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /keras-export: model\.json: layer 1 is 'Lambda'; exportable layers are Activation, /);
  await assert.rejects(readFile(join(dir, 'lambda.keras')), { code: 'ENOENT' });
});
