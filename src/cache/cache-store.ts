/**
 * Where cache entries live in the object store, and the checks that keep a hit honest.
 *
 * ```
 * s3://<bucket>/cache/<key>/key.json                      the key document (written at lookup)
 * s3://<bucket>/cache/<key>/entry.json                    outputs, artifacts + sha256, digest, run (written last)
 * s3://<bucket>/cache/index/<pipeline>/<stage>/latest.json  the last key recorded for a pipeline stage
 * ```
 *
 * A reader sees either no entry or a complete one: each is a single PUT, and entry.json is
 * written after everything it refers to. Entries are never trusted blindly: every artifact
 * must still exist and hash to the recorded sha256.
 */
import { createHash } from 'node:crypto';
import { parseDatasetSource } from '../datasets/dataset-source';
import { InvalidInputError, NotFoundError } from '../core/errors';
import type { JsonObject } from '../core/spec/plan-types';
import { formatDuration, formatHumanDuration } from '../core/spec/durations';
import { cachePrefix, modelAliasUri, modelPrefix, modelRootPrefix } from '../core/storage/layout';
import type { ObjectInfo, ObjectStore } from '../storage/object-store';
import { asPrefixUri, formatS3Uri, parseS3Uri, type S3Location } from '../core/storage/uri';
import { canonicalJson, sha256Hex } from '../canonical-json';
import type { CacheKeyDocument } from './cache-key';
import { fingerprintLocalOrWebUri, isLocalOrWebUri, type UriFingerprintOptions } from './cache-uri-fingerprint';

export interface CachedArtifact {
  readonly uri: string;
  readonly sha256: string;
}

/** s3://<bucket>/cache/<key>/entry.json */
export interface CacheEntry {
  readonly formatVersion: number;
  readonly key: string;
  /** What the key was computed from; null when the recorder never saw the lookup. */
  readonly keyDocument: CacheKeyDocument | null;
  readonly outputs: JsonObject;
  /** Every object the outputs point at, with its sha256: checked before a hit is used. */
  readonly artifacts: readonly CachedArtifact[];
  /** Content digest of the outputs (artifact URIs replaced by their sha256). */
  readonly digest: string;
  readonly runId: string;
  readonly stageId: string;
  readonly pipeline?: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

/** s3://<bucket>/cache/index/<pipeline>/<stage>/latest.json */
export interface CacheIndexPointer {
  readonly key: string;
  readonly runId: string;
  readonly digest: string;
  readonly createdAt: string;
}

/** Pipeline and stage names may hold characters S3 keys dislike; encode them as one segment. */
function indexSegment(value: string): string {
  if (value === '')
    throw new InvalidInputError('an empty name cannot be used in a cache index key', { code: 'invalid-key-segment' });
  return encodeURIComponent(value).replace(/\./g, '%2E');
}

export function cacheEntryUri(bucket: string, key: string): string {
  return `${cachePrefix(bucket, key)}entry.json`;
}

export function cacheKeyDocumentUri(bucket: string, key: string): string {
  return `${cachePrefix(bucket, key)}key.json`;
}

export function cacheIndexUri(bucket: string, pipeline: string, stageId: string): string {
  return formatS3Uri({
    bucket: parseS3Uri(`s3://${bucket}/`).bucket,
    key: `cache/index/${indexSegment(pipeline)}/${indexSegment(stageId)}/latest.json`,
  });
}

/** Only a missing object (or bucket) is "no entry": a denied or corrupt read fails the lookup. */
function isNotFound(thrown: unknown): boolean {
  return thrown instanceof NotFoundError;
}

/** A JSON object, or undefined when it does not exist (also when it vanished between stat and get). */
export async function readJsonIfExists<T>(store: ObjectStore, uri: string): Promise<T | undefined> {
  try {
    return await store.getJson<T>(uri);
  } catch (thrown) {
    if (isNotFound(thrown)) return undefined;
    throw thrown;
  }
}

async function statIfExists(store: ObjectStore, uri: string): Promise<ObjectInfo | undefined> {
  try {
    return await store.stat(uri);
  } catch (thrown) {
    if (isNotFound(thrown)) return undefined;
    throw thrown;
  }
}

async function listIfExists(store: ObjectStore, prefixUri: string): Promise<ObjectInfo[]> {
  try {
    return await store.list(prefixUri);
  } catch (thrown) {
    if (isNotFound(thrown)) return [];
    throw thrown;
  }
}

/** sha256 of an object's bytes, streamed (memory stays flat). */
export async function streamSha256(store: ObjectStore, uri: string): Promise<string> {
  const hash = createHash('sha256');
  const stream = await store.getStream(uri);
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The recorded sha256 of an object, or its streamed hash when the metadata is absent. */
async function objectSha256(store: ObjectStore, info: ObjectInfo): Promise<string> {
  return info.sha256 ?? streamSha256(store, formatS3Uri({ bucket: info.bucket, key: info.key }));
}

function listingHash(prefixUri: string, objects: readonly { readonly key: string; readonly hash: string }[]): string {
  const prefixKey = parseS3Uri(prefixUri).key;
  return sha256Hex(canonicalJson(objects.map((o) => [o.key.slice(prefixKey.length), o.hash])));
}

/** Why an entry's artifacts cannot be trusted any more, or undefined when every one is intact. */
export async function verifyArtifacts(
  store: ObjectStore,
  artifacts: readonly CachedArtifact[],
): Promise<string | undefined> {
  for (const artifact of artifacts) {
    const info = await statIfExists(store, artifact.uri);
    if (!info) return `artifact ${artifact.uri} missing`;
    const actual = await objectSha256(store, info);
    if (actual !== artifact.sha256)
      return `artifact ${artifact.uri} changed (sha256 ${actual.slice(0, 12)}…, cached ${artifact.sha256.slice(0, 12)}…)`;
  }
  return undefined;
}

export interface OutputContent {
  /** Content hash of every s3 string of the outputs that names an object or a non-empty prefix. */
  readonly hashes: ReadonlyMap<string, string>;
  /** The objects behind those strings (plus the declared artifacts), to verify on a hit. */
  readonly artifacts: readonly CachedArtifact[];
}

/** The location of an `s3://` URI, or undefined for any other string (outputs hold all kinds). */
function addressable(uri: string): S3Location | undefined {
  try {
    return parseS3Uri(uri);
  } catch {
    return undefined;
  }
}

/**
 * What an `s3://` string of a stage's outputs names: the object itself, else the objects below it as a directory
 * (with or without its trailing slash: fine-tune's `checkpoint` output is `…/checkpoints/epoch-0010`), else nothing
 * (undefined, as for a string that is no s3:// URI). The cache's digest and artifacts, gc's protection of them
 * (they are the entry's artifacts) and rerun's "is it still there" all read outputs through this one rule.
 */
async function objectsNamedBy(
  store: ObjectStore,
  uri: string,
): Promise<
  | { readonly kind: 'object'; readonly info: ObjectInfo }
  | { readonly kind: 'prefix'; readonly prefix: string; readonly objects: readonly ObjectInfo[] }
  | undefined
> {
  const location = addressable(uri);
  if (!location) return undefined;
  if (location.key !== '' && !location.key.endsWith('/')) {
    const info = await statIfExists(store, uri);
    if (info) return { kind: 'object', info };
  }
  const prefix = asPrefixUri(uri);
  const objects = await listIfExists(store, prefix);
  return objects.length > 0 ? { kind: 'prefix', prefix, objects } : undefined;
}

/**
 * Hash what a stage's outputs point at: declared artifacts keep their sha256; every other
 * `s3://` string is hashed as what {@link objectsNamedBy} finds (an object, or a directory's listing), so a
 * stage that returns a directory URI is covered too. Strings naming nothing stay as they are.
 */
export async function hashOutputContent(
  store: ObjectStore,
  uris: readonly string[],
  declared: readonly CachedArtifact[] = [],
): Promise<OutputContent> {
  const hashes = new Map<string, string>();
  const artifacts = new Map<string, string>();
  for (const artifact of declared) {
    hashes.set(artifact.uri, artifact.sha256);
    artifacts.set(artifact.uri, artifact.sha256);
  }
  for (const uri of uris) {
    if (hashes.has(uri)) continue;
    const named = await objectsNamedBy(store, uri);
    if (named?.kind === 'object') {
      const sha = await objectSha256(store, named.info);
      hashes.set(uri, sha);
      artifacts.set(uri, sha);
    } else if (named?.kind === 'prefix') {
      const listed: { key: string; hash: string }[] = [];
      for (const info of named.objects) {
        const objectUri = formatS3Uri({ bucket: info.bucket, key: info.key });
        const sha = artifacts.get(objectUri) ?? (await objectSha256(store, info));
        artifacts.set(objectUri, sha);
        listed.push({ key: info.key, hash: sha });
      }
      hashes.set(uri, listingHash(named.prefix, listed));
    }
  }
  return {
    hashes,
    artifacts: [...artifacts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([uri, sha256]) => ({ uri, sha256 })),
  };
}

/**
 * Fingerprint of data that a stage reads from outside the run: an object's sha256 (or etag and
 * size when it was not written by Fineflow), a prefix's listing, or for `registry://NAME@…` the
 * listing of the model's versions and aliases; for `file://` and `http(s)://` see
 * src/cache/cache-uri-fingerprint.ts. Not stream-hashed: external datasets can be large,
 * and an in-place rewrite changes the etag anyway.
 */
export async function fingerprintExternal(
  store: ObjectStore,
  bucket: string,
  uri: string,
  options: UriFingerprintOptions = {},
): Promise<string> {
  if (isLocalOrWebUri(uri)) return fingerprintLocalOrWebUri(uri, options);
  const registry = /^registry:\/\/([^@/\s]+)(?:@(\S+))?$/.exec(uri);
  let prefix: string;
  if (registry?.[1]) {
    const [, name, ref] = registry;
    try {
      // An alias names one version through its pointer object; a version is its own prefix;
      // anything else (`latest`, no ref) depends on every version of the model.
      if (ref !== undefined) {
        const alias = await statIfExists(store, modelAliasUri(bucket, name, ref));
        if (alias) return `alias:${alias.sha256 ?? `etag:${alias.etag}:${alias.size}`}`;
        if (!ref.startsWith('_')) {
          const versionPrefix = modelPrefix(bucket, name, ref);
          const files = await listIfExists(store, versionPrefix);
          if (files.length > 0)
            return `version:${listingHash(
              versionPrefix,
              files.map((info) => ({ key: info.key, hash: info.sha256 ?? `etag:${info.etag}:${info.size}` })),
            )}`;
        }
      }
      prefix = modelRootPrefix(bucket, name);
    } catch (thrown) {
      if (thrown instanceof InvalidInputError && thrown.details.code === 'invalid-key-segment') return 'unaddressable';
      throw thrown;
    }
  } else if (parseDatasetSource(uri).version) {
    // A pinned dataset version is immutable: its id is its fingerprint.
    return `dataset-version:${parseDatasetSource(uri).version}`;
  } else {
    let location;
    try {
      location = parseS3Uri(uri);
    } catch {
      return 'unaddressable';
    }
    if (location.key !== '' && !location.key.endsWith('/')) {
      const info = await statIfExists(store, uri);
      if (info) return info.sha256 ? `sha256:${info.sha256}` : `etag:${info.etag}:${info.size}`;
    }
    prefix = asPrefixUri(uri);
  }
  const listed = await listIfExists(store, prefix);
  if (listed.length === 0) return 'missing';
  return `listing:${listingHash(
    prefix,
    listed.map((info) => ({ key: info.key, hash: info.sha256 ?? `etag:${info.etag}:${info.size}` })),
  )}`;
}

export async function readCacheEntry(store: ObjectStore, bucket: string, key: string): Promise<CacheEntry | undefined> {
  return readJsonIfExists<CacheEntry>(store, cacheEntryUri(bucket, key));
}

export async function readIndexPointer(
  store: ObjectStore,
  bucket: string,
  pipeline: string,
  stageId: string,
): Promise<CacheIndexPointer | undefined> {
  return readJsonIfExists<CacheIndexPointer>(store, cacheIndexUri(bucket, pipeline, stageId));
}

/** Age check: undefined when the entry is young enough, else the reason it is too old. */
export function tooOld(
  entry: Pick<CacheEntry, 'createdAt'>,
  maxAgeMs: number | undefined,
  now: Date,
): string | undefined {
  if (maxAgeMs === undefined) return undefined;
  const created = Date.parse(entry.createdAt);
  if (Number.isNaN(created)) return `entry has no valid creation time (${entry.createdAt})`;
  const age = now.getTime() - created;
  return age > maxAgeMs
    ? `entry is ${formatHumanDuration(age)} old, older than maxAge ${formatDuration(maxAgeMs)}`
    : undefined;
}

/**
 * The first `s3://` URI of a stage's outputs that names nothing any more (an object that is
 * gone, a prefix that is empty), as a reason, or undefined when everything is still there.
 * A URI without a trailing slash may name a directory too (fine-tune's `checkpoint`, `…/epoch-0010`):
 * it is there while an object lies below it.
 */
export async function missingOutput(store: ObjectStore, uris: readonly string[]): Promise<string | undefined> {
  for (const uri of uris) {
    if (!addressable(uri)) continue;
    if (!(await objectsNamedBy(store, uri))) return `artifact ${uri} missing`;
  }
  return undefined;
}
