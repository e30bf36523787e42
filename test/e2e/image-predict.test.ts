/**
 * Image models outside the pipeline, on the real stack: a surface-defect CNN trained by a small
 * pipeline (prepare-data → fine-tune → evaluate on a fixed test set → register) is asked about
 * the same test images by `fineflow predict` (from the S3 prefix, and from a local folder and
 * single files) and by `fineflow serve` (`{"instances": [{"b64": …}]}`), and both must agree with
 * the evaluate stage: the same confusion matrix and accuracy, the same log loss (so the same
 * probabilities, within float32 rounding). The images are RGBA at 2× the model's size with a
 * transparent, noisy border, so resize and alpha compositing must match prepare-data's exactly
 * or the noise shows through. Run with: bash scripts/test.sh integration test/e2e/image-predict.test.ts
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { generateDefects } from '../../src/ml/generators/defects';
import { writeFilesToStore, type RawFile } from '../../src/ml/generators/writers';
import { mulberry32 } from '../../src/ml/random';
import { runCli, startServeProcess } from '../helpers/cli';
import { assertStages, assertSucceeded, startExampleRuntime, type ExampleRuntime } from './helpers/example-runtime';

const TIMEOUT = { timeout: 900_000 };
const SIDE = 28;
const SCALE = 2;
const BORDER = 6;
let rt: ExampleRuntime;
let local: string;
let testFiles: RawFile[];

const PIPELINE = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: image-predict-e2e}
params: {dataset: "s3://datasets/defects-rgba/train/", testSet: "s3://datasets/defects-rgba/test/"}
defaults: {pool: cpu, timeout: 20m, retry: {maxAttempts: 1}, onFailure: fail}
stages:
  prepare:
    uses: prepare-data
    with:
      source: \${{ params.dataset }}
      format: image-folder
      image: {size: [24, 24], channels: 3, background: [40, 80, 120]}
      split: {validation: 0.2, testSource: "\${{ params.testSet }}", seed: 3}
  train:
    uses: fine-tune
    pool: train
    with:
      architecture: small-cnn-global-pool
      data: \${{ stages.prepare.outputs.dataset }}
      epochs: 8
      batchSize: 16
      learningRate: 0.005
      freeze: none
      seed: 3
  evaluate:
    uses: evaluate
    with:
      model: \${{ stages.train.outputs.model }}
      data: \${{ stages.prepare.outputs.dataset }}
      metrics: [accuracy, confusionMatrix] # logLoss is always in the outputs
  register:
    uses: register-model
    with: {model: "\${{ stages.train.outputs.model }}", name: defects-rgba}
`;

/**
 * The generated grey defect images as RGBA PNGs, SCALE× larger, tinted, inside a border of random
 * colours that is fully transparent (so it must become the pipeline's background colour).
 */
function rgbaImageFiles(perClass: number, seed: number): RawFile[] {
  const set = generateDefects({ perClass, seed, surface: 'cast' });
  const random = mulberry32(seed + 1);
  const side = SIDE * SCALE + 2 * BORDER;
  return Array.from(set.labels, (label, index) => {
    const png = new PNG({ width: side, height: side });
    for (let y = 0; y < side; y += 1)
      for (let x = 0; x < side; x += 1) {
        const at = (y * side + x) * 4;
        const [sx, sy] = [Math.floor((x - BORDER) / SCALE), Math.floor((y - BORDER) / SCALE)];
        const inside = sx >= 0 && sy >= 0 && sx < SIDE && sy < SIDE;
        const grey = inside ? Math.round((set.features[index * SIDE * SIDE + sy * SIDE + sx] ?? 0) * 255) : 0;
        png.data[at] = inside ? grey : Math.floor(random() * 256);
        png.data[at + 1] = inside ? Math.round(grey * 0.9) : Math.floor(random() * 256);
        png.data[at + 2] = inside ? Math.round(grey * 0.8) : Math.floor(random() * 256);
        png.data[at + 3] = inside ? 255 : 0;
      }
    const name = `${set.classes[label]}/${String(index).padStart(4, '0')}.png`;
    return { path: name, bytes: PNG.sync.write(png) };
  });
}

interface Prediction {
  input: string;
  predicted: string;
  probabilities: Record<string, number>;
}

/** Accuracy, confusion matrix (rows: actual, columns: predicted, in `classes` order) and log loss, as evaluate computes them. */
function score(predictions: readonly Prediction[], actualOf: (p: Prediction) => string, classes: readonly string[]) {
  const matrix = classes.map(() => classes.map(() => 0));
  let correct = 0;
  let logLoss = 0;
  for (const p of predictions) {
    const actual = actualOf(p);
    const row = matrix[classes.indexOf(actual)];
    assert.ok(row, `${p.input}: class ${actual}`);
    row[classes.indexOf(p.predicted)] = (row[classes.indexOf(p.predicted)] ?? 0) + 1;
    if (p.predicted === actual) correct += 1;
    logLoss -= Math.log(Math.max(1e-7, p.probabilities[actual] ?? 0));
  }
  return { accuracy: correct / predictions.length, confusionMatrix: matrix, logLoss: logLoss / predictions.length };
}

function parseJsonl(text: string): Prediction[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Prediction);
}

const classOfPath = (p: Prediction): string => path.basename(path.dirname(p.input));

let evaluated: { accuracy: number; confusionMatrix: number[][]; logLoss: number; classes: string[] };
let model: string;

before(async () => {
  rt = await startExampleRuntime();
  local = await mkdtemp(path.join(tmpdir(), 'ff-image-predict-'));
  const dataset = `s3://${rt.bucket}/datasets/defects-rgba/train/`;
  const testSet = `s3://${rt.bucket}/datasets/defects-rgba/test/`;
  await writeFilesToStore(rt.harness.store, dataset, rgbaImageFiles(24, 21));
  testFiles = rgbaImageFiles(6, 77);
  await writeFilesToStore(rt.harness.store, testSet, testFiles);
  for (const file of testFiles) {
    await mkdir(path.join(local, 'test', path.dirname(file.path)), { recursive: true });
    await writeFile(path.join(local, 'test', file.path), file.bytes);
  }
  const run = await rt.run(rt.plan({ yaml: PIPELINE, name: 'image-predict-e2e.yaml' }, { dataset, testSet }), {
    timeoutMs: 800_000,
  });
  assertSucceeded(run);
  assertStages(run, { prepare: 'succeeded', train: 'succeeded', evaluate: 'succeeded', register: 'succeeded' });
  const metrics = run.stage('evaluate').outputs?.metrics as {
    accuracy: number;
    confusionMatrix: number[][] | { matrix: number[][]; labels: string[] };
    logLoss: number;
  };
  const classes = run.stage('prepare').outputs?.classes as string[];
  const matrix = Array.isArray(metrics.confusionMatrix) ? metrics.confusionMatrix : metrics.confusionMatrix.matrix;
  evaluated = { accuracy: metrics.accuracy, confusionMatrix: matrix, logLoss: metrics.logLoss, classes };
  model = String((run.stage('register').outputs as { model: string }).model);
});
after(async () => {
  await rt?.close();
  if (local) await rm(local, { recursive: true, force: true });
});

function assertSameAsEvaluate(predictions: readonly Prediction[], what: string): void {
  assert.equal(predictions.length, testFiles.length, `${what}: one prediction per test image`);
  const scored = score(predictions, classOfPath, evaluated.classes);
  assert.deepEqual(scored.confusionMatrix, evaluated.confusionMatrix, `${what}: confusion matrix`);
  assert.ok(Math.abs(scored.accuracy - evaluated.accuracy) < 1e-9, `${what}: accuracy`);
  assert.ok(
    Math.abs(scored.logLoss - evaluated.logLoss) < 1e-5,
    `${what}: log loss ${scored.logLoss} vs evaluate's ${evaluated.logLoss}`,
  );
}

test(
  'fineflow predict on the fixed test set (S3 prefix, local folder) agrees with the evaluate stage',
  TIMEOUT,
  async (t) => {
    t.diagnostic(
      `evaluate on ${testFiles.length} RGBA test images: accuracy ${evaluated.accuracy.toFixed(3)}, log loss ${evaluated.logLoss.toFixed(4)}`,
    );
    const env = { FINEFLOW_BUCKET: rt.bucket };
    const fromS3 = await runCli(
      ['predict', model, `s3://${rt.bucket}/datasets/defects-rgba/test/`, '--format', 'jsonl'],
      {
        env,
      },
    );
    assert.equal(fromS3.code, 0, fromS3.stderr);
    assertSameAsEvaluate(parseJsonl(fromS3.stdout), 'predict s3://…/test/');
    const fromFolder = await runCli(['predict', model, 'test', '--format', 'jsonl'], { env, cwd: local });
    assert.equal(fromFolder.code, 0, fromFolder.stderr);
    assertSameAsEvaluate(parseJsonl(fromFolder.stdout), 'predict ./test');
    // Single files, named one by one, give the folder's answers (a batch of 2, not 24: float32 rounding only).
    const firstTwo = testFiles.slice(0, 2).map((file) => path.join('test', file.path));
    const single = await runCli(['predict', model, ...firstTwo, '--format', 'jsonl'], { env, cwd: local });
    assert.equal(single.code, 0, single.stderr);
    const byInput = new Map(parseJsonl(fromFolder.stdout).map((p) => [path.basename(p.input), p]));
    const singles = parseJsonl(single.stdout);
    assert.equal(singles.length, 2);
    for (const p of singles) {
      const folder = byInput.get(path.basename(p.input));
      assert.equal(p.predicted, folder?.predicted, p.input);
      for (const name of evaluated.classes)
        assert.ok(Math.abs((p.probabilities[name] ?? NaN) - (folder?.probabilities[name] ?? NaN)) < 1e-6, p.input);
    }
  },
);

test(
  'fineflow serve answers base64 PNG instances with the evaluate stage’s predictions; bad images get 400 naming the instance',
  TIMEOUT,
  async () => {
    const server = await startServeProcess([model, '--port', '0', '--max-batch', '16'], { FINEFLOW_BUCKET: rt.bucket });
    try {
      const post = async (instances: readonly object[]) => {
        const response = await fetch(`${server.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const shape = (await (await fetch(`${server.url}/model`)).json()) as Record<string, unknown>;
      assert.deepEqual(shape.classes, evaluated.classes);
      const answers: Prediction[] = [];
      for (let i = 0; i < testFiles.length; i += 16) {
        const batch = testFiles.slice(i, i + 16);
        const { status, body } = await post(batch.map((file) => ({ b64: file.bytes.toString('base64') })));
        assert.equal(status, 200, JSON.stringify(body));
        (body.predictions as Prediction[]).forEach((p, j) => answers.push({ ...p, input: batch[j]?.path ?? '' }));
      }
      assertSameAsEvaluate(answers, 'serve');
      const corrupt = await post([
        { b64: testFiles[0]?.bytes.toString('base64') ?? '' },
        { b64: Buffer.from('not an image').toString('base64') },
      ]);
      assert.equal(corrupt.status, 400);
      assert.match(String(corrupt.body.error), /instances\[1\]/);
    } finally {
      await server.stop();
    }
  },
);
