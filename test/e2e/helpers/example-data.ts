/**
 * Small raw datasets for the example pipelines, pushed into the store the way
 * `fineflow data push` lays them out: image folders (one directory per class, PNG files) from
 * the src/ml generators, a churn CSV with the columns pipelines/tabular.yaml reads, and a loan CSV with
 * missing cells and an imbalanced label for pipelines/loan-default.yaml.
 * Everything is seeded, so a test run pushes the same bytes every time.
 */
import { generateDefects } from '../../../src/ml/generators/defects';
import { loadMnist } from '../../../src/ml/generators/mnist';
import { generateRingsBars } from '../../../src/ml/generators/rings-bars';
import { generateShapes } from '../../../src/ml/generators/shapes';
import { RING_BAR_PER_CLASS } from '../../../src/examples/seed-data';
import { csvFile, imageFolderFiles, writeFilesToStore } from '../../../src/ml/generators/writers';
import type { ChurnRow, LoanRow } from '../../../src/examples/tabular-exports';
import type { ObjectStore } from '../../../src/storage/object-store';

export {
  CHURN_PLANS,
  CHURN_REGIONS,
  generateChurn,
  generateLoans,
  type ChurnRow,
  type LoanRow,
} from '../../../src/examples/tabular-exports';

/** Push MNIST digits (digit folders `0`…`9`) under `prefixUri`; resolves to the file count. */
export async function pushDigits(store: ObjectStore, prefixUri: string, perClass: number): Promise<number> {
  const files = imageFolderFiles(loadMnist({ perClass, seed: 1 }));
  await writeFilesToStore(store, prefixUri, files);
  return files.length;
}

/**
 * Push what `fineflow dev seed ring-or-bar` pushes (rings and bars, and the stray ring/notes.txt) under `prefixUri`;
 * resolves to the file count.
 */
export async function pushRingsBars(store: ObjectStore, prefixUri: string): Promise<number> {
  const files = [
    ...imageFolderFiles(generateRingsBars({ perClass: RING_BAR_PER_CLASS, seed: 11 })),
    { path: 'ring/notes.txt', bytes: Buffer.from('crops from line 2, week 49; lighting changed on Tuesday\n') },
  ];
  await writeFilesToStore(store, prefixUri, files);
  return files.length;
}

export async function pushShapes(store: ObjectStore, prefixUri: string, perClass: number): Promise<number> {
  const files = imageFolderFiles(generateShapes({ perClass, seed: 7 }));
  await writeFilesToStore(store, prefixUri, files);
  return files.length;
}

export async function pushDefects(
  store: ObjectStore,
  prefixUri: string,
  perClass: number,
  seed = 5,
  surface: 'brushed' | 'cast' = 'brushed',
): Promise<number> {
  const files = imageFolderFiles(generateDefects({ perClass, seed, surface }));
  await writeFilesToStore(store, prefixUri, files);
  return files.length;
}

/** Push a churn CSV to exactly `uri` (`s3://bucket/…/name.csv`). */
export async function pushChurnCsv(store: ObjectStore, uri: string, rows: readonly ChurnRow[]): Promise<void> {
  const slash = uri.lastIndexOf('/');
  await writeFilesToStore(store, uri.slice(0, slash + 1), [csvFile(rows, uri.slice(slash + 1))]);
}

/** Push a loan CSV to exactly `uri` (`s3://bucket/…/name.csv`). */
export async function pushLoanCsv(store: ObjectStore, uri: string, rows: readonly LoanRow[]): Promise<void> {
  const slash = uri.lastIndexOf('/');
  await writeFilesToStore(store, uri.slice(0, slash + 1), [csvFile(rows, uri.slice(slash + 1))]);
}
