/**
 * Dataset versions in the object store: seal the objects under a prefix into a manifest, read
 * and list manifests, and read a version back exactly (src/datasets/dataset-version.ts says what
 * a version is). Used by `fineflow data push|versions|diff|pull`, the new-data watcher's
 * activity and the `prepare-data` stage.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DependencyUnavailableError, InvalidInputError, NotFoundError, ResourceLimitError } from '../core/errors';
import { Sha256Verifier } from '../storage/minio-store';
import type { ObjectInfo, ObjectStore, ReadOptions } from '../storage/object-store';
import { asPrefixUri, formatS3Uri, parseS3Uri } from '../core/storage/uri';
import {
  buildDatasetManifest,
  checkDatasetManifest,
  datasetManifestUri,
  datasetVersionsPrefix,
  parseDatasetSource,
  SEAL_TIME_BOUND_MS,
  relativeKey,
  type DatasetObject,
  type DatasetVersionManifest,
} from './dataset-version';
import { checkVersionRead, isFailedRead, isReading, parseVersionReadName } from './version-reads';
import { forEachInFlight } from '../core/in-flight';

/**
 * sha256 of objects already hashed, by `<uri>\0<etag>\0<size>`: a watcher re-seals without re-reading unchanged
 * objects.
 */
export type Sha256Memo = Map<string, string>;

export interface SealOptions {
  /** Recorded in the manifest: `data push`, `watcher`, `prepare-data`. */
  readonly createdBy: string;
  readonly now?: Date;
  /** Only these keys (relative to the prefix); default every object under it. */
  readonly only?: ReadonlySet<string>;
  readonly memo?: Sha256Memo;
  /** The listing to seal, when the caller has just made it (what it saw is what gets sealed). */
  readonly listed?: readonly ObjectInfo[];
  /**
   * When nothing is there to seal: the error to throw instead of recording a version of no objects (a stage reading
   * a missing folder must fail without leaving a version of it behind). Default: an empty version is recorded.
   */
  readonly whenEmpty?: () => Error;
  /** Milliseconds on a monotonic clock (tests); default `performance.now()`. */
  readonly clock?: () => number;
  /**
   * Called with the manifest just before it is written, once the seal is known to be in time: a stage that will read
   * the version records its read here, so gc never sees the version without the record (src/retention/gc-plan.ts
   * rule 6). A throw stops the seal before the manifest is written.
   */
  readonly beforeWrite?: (manifest: DatasetVersionManifest) => Promise<void>;
}

/** Seals tried before giving up when each takes longer than {@link SEAL_TIME_BOUND_MS}. */
const SEAL_ATTEMPTS = 3;

function memoKey(info: Pick<ObjectInfo, 'bucket' | 'key' | 'etag' | 'size'>): string {
  return `${formatS3Uri(info)}\0${info.etag}\0${info.size}`;
}

async function hashObject(store: ObjectStore, uri: string, options: ReadOptions): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await store.getStream(uri, options)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One listed object as a manifest entry: its sha256 (recorded by Fineflow, remembered, or read) and S3 version. */
async function describeObject(
  store: ObjectStore,
  prefix: string,
  listed: ObjectInfo,
  memo: Sha256Memo | undefined,
): Promise<DatasetObject | undefined> {
  const uri = formatS3Uri(listed);
  // Listings carry no user metadata and no version: a HEAD has both.
  const info = await store.stat(uri);
  if (!info) return undefined; // deleted since the listing
  const versionRead: ReadOptions = info.versionId ? { versionId: info.versionId } : {};
  const sha256 = info.sha256 ?? memo?.get(memoKey(info)) ?? (await hashObject(store, uri, versionRead));
  memo?.set(memoKey(info), sha256);
  const key = relativeKey(prefix, uri) ?? listed.key;
  return {
    key,
    size: info.size,
    sha256,
    etag: info.etag.replace(/"/g, ''),
    ...(info.versionId ? { versionId: info.versionId } : {}),
  };
}

/**
 * Seal what is under `prefix` now into a version and record its manifest under `bucket`. Sealing
 * the same contents again rewrites the manifest with the objects' current S3 versions (same id:
 * same bytes), so a re-push never leaves a manifest pointing at purged versions.
 */
export async function sealDatasetVersion(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  options: SealOptions,
): Promise<DatasetVersionManifest> {
  const clock = options.clock ?? (() => performance.now());
  // Hashes carry over to the next attempt: a seal again after a slow one only looks at the objects.
  const memo = options.memo ?? new Map<string, string>();
  const { listed: callerListed, ...rest } = options;
  for (let attempt = 1; ; attempt += 1) {
    const startedAt = clock();
    // A caller's listing is as old as the first attempt: later ones list again.
    const listed = attempt === 1 && callerListed ? { listed: callerListed } : {};
    const inTime = (): boolean => clock() - startedAt <= SEAL_TIME_BOUND_MS;
    const sealed = await sealOnce(store, bucket, asPrefixUri(prefix), { ...rest, memo, ...listed }, inTime);
    if (sealed) return sealed;
    if (attempt >= SEAL_ATTEMPTS)
      throw new DependencyUnavailableError(
        `sealing ${asPrefixUri(prefix)} took longer than ${SEAL_TIME_BOUND_MS / 60_000} minutes ${attempt} times: ` +
          'gc may have collected an object version it saw, so no version was recorded; try again when the store is ' +
          'less busy',
        { code: 'seal-too-slow', prefix: asPrefixUri(prefix) },
      );
  }
}

/**
 * One seal: undefined, writing nothing, when `inTime` says it took longer than {@link SEAL_TIME_BOUND_MS} (gc collects
 * a replaced object version no manifest names once `SEAL_SETTLED_MS` has passed: a manifest written later could
 * name a version gone).
 */
async function sealOnce(
  store: ObjectStore,
  bucket: string,
  dataPrefix: string,
  options: SealOptions,
  inTime: () => boolean,
): Promise<DatasetVersionManifest | undefined> {
  const listed = (options.listed ?? (await store.list(dataPrefix))).filter((info) => {
    const key = relativeKey(dataPrefix, formatS3Uri(info));
    return key !== undefined && !key.endsWith('/') && (!options.only || options.only.has(key));
  });
  const objects: DatasetObject[] = [];
  for (const info of listed) {
    const object = await describeObject(store, dataPrefix, info, options.memo);
    if (object) objects.push(object);
  }
  if (objects.length === 0 && options.whenEmpty) throw options.whenEmpty();
  const built = buildDatasetManifest(dataPrefix, objects, options.createdBy, options.now ?? new Date());
  const uri = datasetManifestUri(bucket, dataPrefix, built.id);
  // Same id = same contents; the newer manifest's version ids are the current ones, so it replaces the old, keeping
  // who sealed the version first.
  const first = (await firstSeal(store, uri)) ?? { firstSealedAt: built.createdAt, firstSealedBy: built.createdBy };
  const manifest: DatasetVersionManifest = { ...built, ...first };
  if (!inTime()) return undefined;
  await options.beforeWrite?.(manifest);
  await store.putJson(uri, manifest);
  return manifest;
}

/**
 * When and by whom the version at `uri` was first sealed, from its manifest: undefined when there is none (or it is
 * unreadable: it is replaced), nothing when it was written before Fineflow kept the first seal (its own seal may have
 * been a re-seal, so the first stays unknown rather than guessed).
 */
async function firstSeal(
  store: ObjectStore,
  uri: string,
): Promise<Pick<DatasetVersionManifest, 'firstSealedAt' | 'firstSealedBy'> | undefined> {
  if (!(await store.stat(uri))) return undefined;
  try {
    const { firstSealedAt, firstSealedBy } = checkDatasetManifest(await store.getJson(uri), uri);
    return firstSealedAt !== undefined && firstSealedBy !== undefined ? { firstSealedAt, firstSealedBy } : {};
  } catch (thrown) {
    if (thrown instanceof InvalidInputError || thrown instanceof NotFoundError) return undefined; // replaced below
    throw thrown;
  }
}

/** The manifest of `id` under `prefix`; NotFoundError `dataset-version-not-found` when there is none. */
export async function readDatasetVersion(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  id: string,
): Promise<DatasetVersionManifest> {
  const uri = datasetManifestUri(bucket, prefix, id);
  if (!(await store.stat(uri))) {
    throw new NotFoundError(
      `dataset version ${id} of ${asPrefixUri(prefix)} does not exist (no ${uri}); list the versions with ` +
        `\`fineflow data versions ${asPrefixUri(prefix)}\``,
      { code: 'dataset-version-not-found', prefix: asPrefixUri(prefix), id },
    );
  }
  return checkDatasetManifest(await store.getJson(uri), uri);
}

/** Every recorded version of `prefix`, oldest first. */
export async function listDatasetVersions(
  store: ObjectStore,
  bucket: string,
  prefix: string,
): Promise<DatasetVersionManifest[]> {
  const versionsPrefix = datasetVersionsPrefix(bucket, prefix);
  let listed: ObjectInfo[];
  try {
    listed = await store.list(versionsPrefix);
  } catch (thrown) {
    if (thrown instanceof NotFoundError) return []; // no bucket yet: no versions
    throw thrown;
  }
  const manifests: DatasetVersionManifest[] = [];
  for (const info of listed) {
    const name = relativeKey(versionsPrefix, formatS3Uri(info));
    // Versions of a nested prefix live deeper (`…/sub/_versions/`): not these.
    if (!name || name.includes('/') || !name.endsWith('.json')) continue;
    manifests.push(checkDatasetManifest(await store.getJson(formatS3Uri(info)), formatS3Uri(info)));
  }
  return manifests.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

/** Who has read a version, as `fineflow data versions` counts it (src/datasets/version-reads.ts). */
export interface VersionReadCounts {
  /** Read records: run stages that read it or are reading it. */
  readonly reads: number;
  /** Of those, records still `reading` (a run's stage reading it now, or one whose run ended before it finished). */
  readonly reading: number;
  /** Of those, reads that failed for a reason other than their quality checks (the store, a file, a cancel). */
  readonly failed: number;
}

/**
 * Read records read at most per listing (each is a small GET); beyond it, `reading` and `failed` count only those read.
 */
export const READ_RECORDS_READ = 200;

/** Read records read at once: as gc reads a few histories at a time, never one round trip after another. */
export const READ_RECORDS_IN_FLIGHT = 8;

/**
 * The read records of every version of `prefix`, counted, by version id: every record is listed, the newest
 * {@link READ_RECORDS_READ} read ({@link READ_RECORDS_IN_FLIGHT} at a time) to tell reading, failed and read apart (a
 * record that is not one counts as read).
 */
export async function countVersionReads(
  store: ObjectStore,
  bucket: string,
  prefix: string,
): Promise<Map<string, VersionReadCounts>> {
  const versionsPrefix = datasetVersionsPrefix(bucket, prefix);
  let listed: ObjectInfo[];
  try {
    listed = await store.list(versionsPrefix);
  } catch (thrown) {
    if (thrown instanceof NotFoundError) return new Map();
    throw thrown;
  }
  const records = listed
    .flatMap((info) => {
      const read = parseVersionReadName(relativeKey(versionsPrefix, formatS3Uri(info)) ?? '');
      return read ? [{ uri: formatS3Uri(info), id: read.id, written: info.lastModified.getTime() }] : [];
    })
    .sort((a, b) => b.written - a.written);
  const counts = new Map<string, { reads: number; reading: number; failed: number }>();
  const countOf = (id: string): { reads: number; reading: number; failed: number } => {
    const count = counts.get(id) ?? { reads: 0, reading: 0, failed: 0 };
    counts.set(id, count);
    return count;
  };
  for (const { id } of records) countOf(id).reads += 1;
  await forEachInFlight(records.slice(0, READ_RECORDS_READ), READ_RECORDS_IN_FLIGHT, async ({ uri, id }) => {
    try {
      const record = checkVersionRead(await store.getJson(uri, { maxBytes: 64 * 1024 }), uri);
      if (isReading(record)) countOf(id).reading += 1;
      else if (isFailedRead(record)) countOf(id).failed += 1;
    } catch (thrown) {
      const notARecord =
        thrown instanceof InvalidInputError || thrown instanceof NotFoundError || thrown instanceof ResourceLimitError;
      if (!notARecord) throw thrown;
    }
  });
  return counts;
}

function objectGone(manifest: DatasetVersionManifest, object: DatasetObject, why: string): NotFoundError {
  return new NotFoundError(
    `dataset version ${manifest.id} of ${manifest.prefix} cannot be read: ${object.key} ${why}. ` +
      'Push the data again (`fineflow data push`) and use the version it prints, or pin another one (`fineflow data versions PREFIX`)',
    { code: 'dataset-object-gone', prefix: manifest.prefix, version: manifest.id, key: object.key },
  );
}

/**
 * A stream of exactly the bytes `object` had when the version was sealed: its S3 version when
 * recorded, otherwise the current object if it still has the same ETag. The content is checked
 * against the manifest's sha256 as it streams (the stream fails at its end on a mismatch).
 */
export async function readVersionedObject(
  store: ObjectStore,
  manifest: DatasetVersionManifest,
  object: DatasetObject,
): Promise<Readable> {
  const uri = `${manifest.prefix}${object.key}`;
  let source: Readable;
  if (object.versionId) {
    try {
      source = await store.getStream(uri, { versionId: object.versionId });
    } catch (thrown) {
      if (thrown instanceof NotFoundError)
        throw objectGone(manifest, object, `(S3 version ${object.versionId}) no longer exists`);
      throw thrown;
    }
  } else {
    const current = await store.stat(uri);
    if (!current) throw objectGone(manifest, object, 'was deleted, and the bucket keeps no object versions');
    if (current.etag.replace(/"/g, '') !== object.etag || (current.sha256 && current.sha256 !== object.sha256)) {
      throw objectGone(manifest, object, 'was overwritten since, and the bucket keeps no object versions');
    }
    source = await store.getStream(uri);
  }
  const verified = new Sha256Verifier(object.sha256, uri);
  source.on('error', (error) => verified.destroy(error));
  verified.on('close', () => source.destroy());
  return source.pipe(verified);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A store in which the version's prefix holds exactly the version's objects: listing, stat and
 * reads under it answer from the manifest, whatever was written to the prefix since. Everything
 * else (a stage's own outputs) goes to `store` unchanged.
 */
export function pinnedDatasetStore(store: ObjectStore, manifest: DatasetVersionManifest): ObjectStore {
  const byUri = new Map(manifest.objects.map((object) => [`${manifest.prefix}${object.key}`, object]));
  const createdAt = new Date(manifest.createdAt);
  const underVersion = (uri: string): boolean => uri.startsWith(manifest.prefix);
  const bucket = parseS3Uri(manifest.prefix).bucket;
  const info = (uri: string, object: DatasetObject): ObjectInfo => ({
    bucket,
    key: parseS3Uri(uri).key,
    size: object.size,
    etag: object.etag,
    lastModified: createdAt,
    sha256: object.sha256,
    ...(object.versionId ? { versionId: object.versionId } : {}),
  });
  const lookup = (uri: string): DatasetObject => {
    const object = byUri.get(uri);
    if (!object)
      throw new NotFoundError(`${uri} is not in dataset version ${manifest.id} of ${manifest.prefix}`, {
        uri,
        code: 'not-found',
        version: manifest.id,
      });
    return object;
  };
  const getStream = (uri: string, options?: ReadOptions): Promise<Readable> =>
    underVersion(uri) ? readVersionedObject(store, manifest, lookup(uri)) : store.getStream(uri, options);
  return {
    ...store,
    getStream,
    async getBytes(uri) {
      return underVersion(uri) ? readAll(await getStream(uri)) : store.getBytes(uri);
    },
    async getJson<T = unknown>(uri: string): Promise<T> {
      if (!underVersion(uri)) return store.getJson<T>(uri);
      return JSON.parse((await readAll(await getStream(uri))).toString('utf8')) as T;
    },
    async stat(uri, options) {
      if (!underVersion(uri)) return store.stat(uri, options);
      const object = byUri.get(uri);
      return object ? info(uri, object) : undefined;
    },
    async list(prefixUri, options) {
      // A prefix above the version's (the bucket root) still sees only the version under it.
      if (!underVersion(prefixUri) && !manifest.prefix.startsWith(prefixUri)) return store.list(prefixUri, options);
      return [...byUri.entries()]
        .filter(([uri]) => uri.startsWith(prefixUri))
        .map(([uri, object]) => info(uri, object));
    },
  };
}

/** How a stage's source was pinned to a version. */
export type DatasetPin = 'pinned' | 'trigger' | 'sealed';

export interface ResolvedDatasetSource {
  /** The source without its `@<version>`. */
  readonly source: string;
  readonly manifest: DatasetVersionManifest;
  /**
   * `pinned`: `@<version>` in the pipeline; `trigger`: the new-data trigger's version; `sealed`: the prefix as it is
   * now.
   */
  readonly how: DatasetPin;
}

/**
 * The exact version a stage reads for `source`: its own `@<version>`; else, when the source lies
 * under the prefix a new-data trigger watched, the version that triggered the run; else what is
 * there now, sealed into a version first so the run records what it read.
 */
export async function resolveDatasetSource(
  store: ObjectStore,
  bucket: string,
  source: string,
  trigger: { readonly path: string; readonly datasetVersion: string } | undefined,
  /** When the source is sealed now: called before its manifest is written ({@link SealOptions.beforeWrite}). */
  beforeSeal?: (manifest: DatasetVersionManifest) => Promise<void>,
): Promise<ResolvedDatasetSource> {
  const seal = beforeSeal ? { beforeWrite: beforeSeal } : {};
  const parsed = parseDatasetSource(source);
  if (parsed.version)
    return {
      source: parsed.uri,
      manifest: await readDatasetVersion(store, bucket, parsed.uri, parsed.version),
      how: 'pinned',
    };
  if (trigger && (source === trigger.path || relativeKey(trigger.path, source) !== undefined)) {
    return {
      source,
      manifest: await readDatasetVersion(store, bucket, trigger.path, trigger.datasetVersion),
      how: 'trigger',
    };
  }
  if (source.endsWith('/') || parseS3Uri(source).key === '') {
    const whenEmpty = (): Error =>
      new InvalidInputError(
        `no data under ${source}: nothing to read, so no dataset version was recorded; push the data with ` +
          `\`fineflow data push DIR ${source}\`, or fix the source`,
        { code: 'empty-source', source },
      );
    return {
      source,
      manifest: await sealDatasetVersion(store, bucket, source, { createdBy: 'prepare-data', whenEmpty, ...seal }),
      how: 'sealed',
    };
  }
  // One object: a version of its folder holding only it.
  const folder = source.slice(0, source.lastIndexOf('/') + 1);
  const only = new Set([source.slice(folder.length)]);
  const whenEmpty = (): Error => new NotFoundError(`${source} does not exist`, { code: 'not-found', uri: source });
  const manifest = await sealDatasetVersion(store, bucket, folder, {
    createdBy: 'prepare-data',
    only,
    whenEmpty,
    ...seal,
  });
  return { source, manifest, how: 'sealed' };
}
