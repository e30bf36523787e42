/**
 * Retention of dataset versions: which objects the dataset versions of registered models need,
 * so a garbage collector (`fineflow gc`, issue 13) never deletes them while the model exists.
 * Not wired into a collector yet (none is on main): a collector calls
 * {@link datasetObjectsRegisteredModelsNeed} and keeps every URI it returns.
 */
import { listModels, showModel } from '../ml/models/registry';
import { NotFoundError } from '../core/errors';
import type { ObjectInfo, ObjectStore } from '../storage/object-store';
import { formatS3Uri, parseS3Uri } from '../core/storage/uri';
import { checkDatasetManifest } from './dataset-version';

export interface NeededDatasetObject {
  readonly uri: string;
  /**
   * The S3 version the dataset version names, in a versioned bucket: keep that version, not only the current object.
   */
  readonly versionId?: string;
}

export interface DatasetRetention {
  /** Dataset version ids named by a registered model's card (`lineage.datasetVersion`). */
  readonly versions: readonly string[];
  /** Their manifests (s3://<bucket>/datasets/…/_versions/<id>.json). */
  readonly manifests: readonly string[];
  /** Every object those versions name. */
  readonly objects: readonly NeededDatasetObject[];
}

/** What registered models' dataset versions need, read from the registry and the manifests under `datasets/`. */
export async function datasetObjectsRegisteredModelsNeed(
  store: ObjectStore,
  bucket: string,
): Promise<DatasetRetention> {
  const versions = new Set<string>();
  for (const model of await listModels(store, bucket)) {
    for (const card of (await showModel(store, bucket, model.name)).versions) {
      const version = card.lineage.datasetVersion;
      if (typeof version === 'string') versions.add(version);
    }
  }
  const manifests: string[] = [];
  const objects: NeededDatasetObject[] = [];
  let listed: ObjectInfo[];
  try {
    listed = await store.list(formatS3Uri({ bucket, key: 'datasets/' }));
  } catch (thrown) {
    if (thrown instanceof NotFoundError) listed = [];
    else throw thrown;
  }
  for (const info of listed) {
    const match = /\/_versions\/([0-9a-f]{64})\.json$/.exec(info.key);
    if (!match?.[1] || !versions.has(match[1])) continue;
    const uri = formatS3Uri(info);
    const manifest = checkDatasetManifest(await store.getJson(uri), uri);
    manifests.push(uri);
    const prefix = parseS3Uri(manifest.prefix);
    for (const object of manifest.objects) {
      objects.push({
        uri: formatS3Uri({ bucket: prefix.bucket, key: `${prefix.key}${object.key}` }),
        ...(object.versionId ? { versionId: object.versionId } : {}),
      });
    }
  }
  return { versions: [...versions].sort(), manifests, objects };
}
