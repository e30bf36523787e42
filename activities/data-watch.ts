/**
 * The data watcher's one side effect: look at what is under a watched prefix and reduce it to a
 * fingerprint. Built from an injected ObjectStore (the worker passes the MinIO one).
 */
import { createHash } from 'node:crypto';
import { NotFoundError } from '../src/errors';
import type { ObjectInfo, ObjectStore } from '../src/storage/object-store';
import { asPrefixUri } from '../src/storage/uri';

/** One observation of a prefix: small JSON that crosses Temporal. */
export interface PrefixFingerprint {
  /** sha256 over the sorted (key, size, etag) of every object under the prefix. */
  readonly fingerprint: string;
  readonly count: number;
  readonly bytes: number;
  /** Last-modified time of the newest object, ISO 8601; absent when the prefix is empty. */
  readonly newestModified?: string;
}

/** Deterministic: the same objects give the same fingerprint whatever order the store lists them in. */
export function fingerprintObjects(objects: readonly Pick<ObjectInfo, 'key' | 'size' | 'etag' | 'lastModified'>[]): PrefixFingerprint {
  const sorted = [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const hash = createHash('sha256');
  let bytes = 0;
  let newest = -Infinity;
  for (const object of sorted) {
    // NUL separators: keys may contain tabs or newlines, never NUL.
    hash.update(`${object.key}\0${object.size}\0${object.etag.replace(/"/g, '')}\0\n`);
    bytes += object.size;
    newest = Math.max(newest, object.lastModified.getTime());
  }
  return {
    fingerprint: hash.digest('hex'),
    count: sorted.length,
    bytes,
    ...(sorted.length > 0 ? { newestModified: new Date(newest).toISOString() } : {}),
  };
}

export interface DataWatchActivities {
  /** List every object under `prefixUri` (s3://bucket/prefix/) and fingerprint them. */
  fingerprintPrefix(prefixUri: string): Promise<PrefixFingerprint>;
}

export function createDataWatchActivities(store: ObjectStore): DataWatchActivities {
  return {
    async fingerprintPrefix(prefixUri: string): Promise<PrefixFingerprint> {
      try {
        return fingerprintObjects(await store.list(asPrefixUri(prefixUri)));
      } catch (thrown) {
        // A dataset bucket that does not exist yet is an empty dataset, not a broken watcher.
        if (thrown instanceof NotFoundError && thrown.details.code === 'bucket-not-found') return fingerprintObjects([]);
        throw thrown;
      }
    },
  };
}
