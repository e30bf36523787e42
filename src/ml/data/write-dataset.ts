/**
 * Write in-memory labelled sets as a sharded dataset (manifest + shards), bypassing raw-file
 * decoding: how generators feed the benchmark and how tests build datasets quickly.
 * prepare-data produces the same layout from raw files.
 */
import type { ObjectStore } from '../../storage/object-store';
import { featureLength, type LabelledSet } from '../generators/image-set';
import { joinUri } from '../uri';
import {
  ShardWriter,
  SPLIT_NAMES,
  type DatasetManifest,
  type InputTransform,
  type SplitManifest,
  type SplitName,
} from './shards';

export interface WriteDatasetOptions {
  readonly shardSize?: number;
  /** Default: no transform (images already in [0, 1]). */
  readonly inputTransform?: InputTransform;
  readonly source?: string;
}

/**
 * Writes `<prefixUri>/manifest.json` and shards under `<prefixUri>/<split>/`; returns the manifest URI and manifest.
 */
export async function writeDataset(
  store: ObjectStore,
  prefixUri: string,
  splits: Partial<Record<SplitName, LabelledSet>>,
  options: WriteDatasetOptions = {},
): Promise<{ manifestUri: string; manifest: DatasetManifest }> {
  const first = splits.train ?? splits.validation ?? splits.test;
  if (!first) throw new Error('writeDataset needs at least one split');
  const length = featureLength(first.featureShape);
  const written: Partial<Record<SplitName, SplitManifest>> = {};
  for (const split of SPLIT_NAMES) {
    const writer = new ShardWriter(
      store,
      joinUri(prefixUri, split),
      length,
      options.shardSize ?? 1024,
      first.classes.length,
    );
    const set = splits[split];
    if (set)
      for (let i = 0; i < set.labels.length; i += 1)
        await writer.add(set.features.subarray(i * length, (i + 1) * length), set.labels[i] ?? 0);
    written[split] = await writer.finish();
  }
  const manifest: DatasetManifest = {
    format: 'fineflow-shards/v1',
    featureShape: first.featureShape,
    classes: first.classes,
    inputTransform: options.inputTransform ?? { kind: 'none', mean: [], std: [] },
    splits: {
      train: written.train as SplitManifest,
      validation: written.validation as SplitManifest,
      test: written.test as SplitManifest,
    },
    ...(options.source ? { source: options.source } : {}),
  };
  const manifestUri = joinUri(prefixUri, 'manifest.json');
  await store.putJson(manifestUri, manifest);
  return { manifestUri, manifest };
}
