/**
 * The data watcher's one side effect: look at what is under a watched prefix and name it as a
 * dataset version (src/datasets): the same id `fineflow data push` prints for the same bytes,
 * with its manifest recorded in the store so the run it starts reads exactly that version.
 * Built from an injected ObjectStore (the worker passes the MinIO one) and the bucket of manifests.
 *
 * A poll lists the prefix; only when the listing changed (keys, sizes, ETags) is it sealed again,
 * and objects already hashed are not read again, so an unchanged prefix costs one listing.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { datasetVersionId } from '../src/datasets/dataset-version';
import { sealDatasetVersion, type Sha256Memo } from '../src/datasets/version-store';
import { NotFoundError, ensureError } from '../src/core/errors';
import { redactError } from '../src/core/security/redact';
import type { ObjectInfo, ObjectStore } from '../src/storage/object-store';
import { asPrefixUri } from '../src/core/storage/uri';
import { whileHeartbeating } from './heartbeat-loop';

/** One observation of a prefix: small JSON that crosses Temporal. */
export interface PrefixFingerprint {
  /**
   * The dataset version id of what is under the prefix (its manifest is in the store). From
   * {@link fingerprintObjects} alone: the listing's sha256 over (key, size, etag).
   */
  readonly fingerprint: string;
  readonly count: number;
  readonly bytes: number;
  /** Last-modified time of the newest object, ISO 8601; absent when the prefix is empty. */
  readonly newestModified?: string;
}

/** Deterministic: the same objects give the same fingerprint whatever order the store lists them in. */
export function fingerprintObjects(
  objects: readonly Pick<ObjectInfo, 'key' | 'size' | 'etag' | 'lastModified'>[],
): PrefixFingerprint {
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

/** Listings remembered per prefix; a watcher worker serves few prefixes, so this stays small. */
const REMEMBERED_PREFIXES = 256;
/** Hashes remembered across polls; cleared when it grows past this (then objects are stat'ed again). */
const REMEMBERED_HASHES = 200_000;

/**
 * Run `work`, heartbeating while it runs: a poll whose worker stopped (or took the task as it shut down) is then
 * handed out again after the heartbeat timeout, not after the 2-minute start-to-close one, and a long seal of a
 * big prefix is not mistaken for a lost one. Outside an activity (unit tests) it only runs `work`.
 */
async function withHeartbeats<T>(work: () => Promise<T>): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return work();
  }
  return whileHeartbeating(context, work);
}

export function createDataWatchActivities(store: ObjectStore, bucket: string): DataWatchActivities {
  const lastSeal = new Map<string, { listing: string; seen: PrefixFingerprint }>();
  const memo: Sha256Memo = new Map();
  return {
    // A listing's error may quote a presigned URL or a key: redacted before Temporal records it and the worker logs it.
    fingerprintPrefix: async (prefixUri: string): Promise<PrefixFingerprint> => {
      try {
        return await withHeartbeats(() => fingerprint(prefixUri));
      } catch (thrown) {
        throw redactError(ensureError(thrown));
      }
    },
  };

  async function fingerprint(prefixUri: string): Promise<PrefixFingerprint> {
    const prefix = asPrefixUri(prefixUri);
    let listed: ObjectInfo[];
    try {
      listed = await store.list(prefix);
    } catch (thrown) {
      // A dataset bucket that does not exist yet is an empty dataset, not a broken watcher.
      if (thrown instanceof NotFoundError && thrown.details.code === 'bucket-not-found') listed = [];
      else throw thrown;
    }
    const listing = fingerprintObjects(listed);
    const known = lastSeal.get(prefix);
    if (known?.listing === listing.fingerprint) return known.seen;
    if (listed.length === 0) return { ...listing, fingerprint: datasetVersionId([]) };
    if (memo.size > REMEMBERED_HASHES) memo.clear();
    const manifest = await sealDatasetVersion(store, bucket, prefix, { createdBy: 'watcher', memo, listed });
    const seen: PrefixFingerprint = {
      ...listing,
      fingerprint: manifest.id,
      count: manifest.count,
      bytes: manifest.bytes,
    };
    if (lastSeal.size >= REMEMBERED_PREFIXES) lastSeal.clear();
    lastSeal.set(prefix, { listing: listing.fingerprint, seen });
    return seen;
  }
}
