/**
 * Immutable dataset versions: what they are, where their manifests live, how a pipeline pins
 * one, and how two compare. Pure (no I/O); src/datasets/version-store.ts reads and writes them.
 *
 * A dataset version names an exact set of objects under a prefix. Its id is the sha256 over the
 * sorted lines `<key relative to the prefix> <sha256 of the object>\n`: it depends only on the
 * objects' relative keys and contents, so `fineflow data push`, the new-data watcher and a
 * `prepare-data` stage that seals the prefix itself all compute the same id for the same bytes.
 * The manifest additionally records each object's size, ETag and, in a versioned bucket, its S3
 * version id, so a reader gets exactly these bytes whatever was written to the prefix since.
 *
 * Manifests live in Fineflow's bucket, beside the data's name:
 * `s3://<fineflow bucket>/datasets/<data bucket>/<prefix key>_versions/<id>.json`.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../core/errors';
import { asPrefixUri, formatS3Uri, parseS3Uri } from '../core/storage/uri';
import { isDatasetVersionId } from './dataset-source';

export {
  isDatasetVersionId,
  parseDatasetSource,
  pinnedSourceProblem,
  relativeKey,
  type DatasetSource,
} from './dataset-source';

/** Bump when the manifest's shape changes. */
export const DATASET_MANIFEST_FORMAT = 1;

/** One object of a version. */
export interface DatasetObject {
  /** Key relative to the version's prefix. */
  readonly key: string;
  readonly size: number;
  /** sha256 hex of the content: what the id is made of, and what a reader verifies. */
  readonly sha256: string;
  readonly etag: string;
  /** S3 version id when the bucket is versioned: the reader asks for exactly this version. */
  readonly versionId?: string;
}

export interface DatasetVersionManifest {
  readonly format: number;
  /** sha256 over the sorted `<key> <sha256>` lines, see {@link datasetVersionId}. */
  readonly id: string;
  /** The prefix the keys are relative to, `s3://bucket/prefix/`. */
  readonly prefix: string;
  /** When it was last sealed, ISO 8601 (sealing the same contents again rewrites the manifest). */
  readonly createdAt: string;
  /** Who sealed it last: `data push`, `watcher`, `prepare-data`. */
  readonly createdBy: string;
  /**
   * When and by whom the version was first sealed, kept when the same contents are sealed again (the watcher re-seals
   * what `data push` just sealed). Absent in manifests written before Fineflow kept them: then only the last is known.
   */
  readonly firstSealedAt?: string;
  readonly firstSealedBy?: string;
  readonly count: number;
  readonly bytes: number;
  /** In key order. */
  readonly objects: readonly DatasetObject[];
}

function byKey<T extends { readonly key: string }>(a: T, b: T): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The version id of a set of objects (order does not matter). */
export function datasetVersionId(objects: readonly { readonly key: string; readonly sha256: string }[]): string {
  const lines = [...objects].sort(byKey).map((object) => `${object.key} ${object.sha256}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/**
 * The longest a seal may take, from its first look at the prefix to writing its manifest (sealDatasetVersion seals
 * again, with what it has hashed, when it took longer): so a seal that names an object version saw it current no
 * longer than this before its manifest exists.
 */
export const SEAL_TIME_BOUND_MS = 30 * 60_000;

/**
 * An object version replaced longer ago than this (its successor uploaded, or a delete marker put) is named by no
 * seal still in progress: any seal that saw it current has written its manifest, or given up. The seal bound, plus
 * room for writing the manifest and for the clocks of the store and gc to differ.
 */
export const SEAL_SETTLED_MS = SEAL_TIME_BOUND_MS + 10 * 60_000;

/** A manifest for `objects` under `prefix` (sorted, totals and id computed). */
export function buildDatasetManifest(
  prefix: string,
  objects: readonly DatasetObject[],
  createdBy: string,
  createdAt: Date,
): DatasetVersionManifest {
  const sorted = [...objects].sort(byKey);
  return {
    format: DATASET_MANIFEST_FORMAT,
    id: datasetVersionId(sorted),
    prefix: asPrefixUri(prefix),
    createdAt: createdAt.toISOString(),
    createdBy,
    count: sorted.length,
    bytes: sorted.reduce((sum, object) => sum + object.size, 0),
    objects: sorted,
  };
}

/** `s3://<bucket>/datasets/<data bucket>/<prefix key>_versions/`: every version of one prefix. */
export function datasetVersionsPrefix(bucket: string, dataPrefix: string): string {
  const data = parseS3Uri(asPrefixUri(dataPrefix));
  return formatS3Uri(parseS3Uri(formatS3Uri({ bucket, key: `datasets/${data.bucket}/${data.key}_versions/` })));
}

/**
 * A key under Fineflow's `datasets/` that belongs to a version: its manifest (`…/<prefix>_versions/<id>.json`) or one
 * of its read records (`…/<id>.reads/<run>/<stage>.json`, src/datasets/version-reads.ts); undefined for anything else.
 */
export function parseDatasetVersionKey(
  key: string,
): { readonly prefix: string; readonly id: string; readonly kind: 'manifest' | 'read' } | undefined {
  const match = /^datasets\/([^/]+)\/(.*)_versions\/([0-9a-f]{64})(\.json|\.reads\/[^/]+\/[^/]+\.json)$/.exec(key);
  if (!match) return undefined;
  const [, bucket = '', prefixKey = '', id = '', tail = ''] = match;
  return { prefix: formatS3Uri({ bucket, key: prefixKey }), id, kind: tail === '.json' ? 'manifest' : 'read' };
}

export function datasetManifestUri(bucket: string, dataPrefix: string, id: string): string {
  if (!isDatasetVersionId(id)) {
    throw new InvalidInputError(
      `dataset version '${id}' is not a version id (64 lowercase hex characters, as \`fineflow data push\` prints)`,
      { code: 'invalid-dataset-version', id },
    );
  }
  return `${datasetVersionsPrefix(bucket, dataPrefix)}${id}.json`;
}

export interface DatasetDiff {
  readonly added: readonly DatasetObject[];
  readonly removed: readonly DatasetObject[];
  /** Same key, other content. */
  readonly changed: readonly { readonly key: string; readonly before: DatasetObject; readonly after: DatasetObject }[];
  readonly unchanged: number;
}

/** What changed from `before` to `after`, by relative key and content. */
export function diffDatasetVersions(before: DatasetVersionManifest, after: DatasetVersionManifest): DatasetDiff {
  const old = new Map(before.objects.map((object) => [object.key, object]));
  const added: DatasetObject[] = [];
  const changed: { key: string; before: DatasetObject; after: DatasetObject }[] = [];
  let unchanged = 0;
  for (const object of after.objects) {
    const previous = old.get(object.key);
    old.delete(object.key);
    if (!previous) added.push(object);
    else if (previous.sha256 !== object.sha256) changed.push({ key: object.key, before: previous, after: object });
    else unchanged += 1;
  }
  return { added, removed: [...old.values()].sort(byKey), changed, unchanged };
}

/** Checks the shape of a manifest read from the store (it is data, not code). */
export function checkDatasetManifest(value: unknown, uri: string): DatasetVersionManifest {
  const bad = (why: string): never => {
    throw new InvalidInputError(`${uri} is not a dataset version manifest: ${why}`, {
      uri,
      code: 'invalid-dataset-manifest',
    });
  };
  if (value === null || typeof value !== 'object') return bad('not a JSON object');
  const manifest = value as Partial<DatasetVersionManifest>;
  if (manifest.format !== DATASET_MANIFEST_FORMAT)
    bad(`format ${String(manifest.format)}, expected ${DATASET_MANIFEST_FORMAT}`);
  if (typeof manifest.id !== 'string' || typeof manifest.prefix !== 'string' || !Array.isArray(manifest.objects))
    bad('id, prefix or objects missing');
  const objects = manifest.objects as readonly DatasetObject[];
  for (const object of objects) {
    if (typeof object?.key !== 'string' || typeof object.sha256 !== 'string' || typeof object.size !== 'number')
      bad('an object lacks key, size or sha256');
  }
  for (const field of ['firstSealedAt', 'firstSealedBy'] as const)
    if (manifest[field] !== undefined && typeof manifest[field] !== 'string') bad(`${field} is not text`);
  if (datasetVersionId(objects) !== manifest.id)
    bad(`its objects hash to ${datasetVersionId(objects)}, not its id ${String(manifest.id)}`);
  return manifest as DatasetVersionManifest;
}
