/**
 * The object store behind every byte Fineflow keeps: datasets, shards, checkpoints, models,
 * reports, logs and cache entries. Activities receive an `ObjectStore` at worker start
 * (dependency injection, as in Temporal's samples); the production implementation is
 * `createMinioObjectStore` over the `minio` client. URIs are `s3://bucket/key`.
 */
import type { Readable } from 'node:stream';
import { ResourceLimitError } from '../core/errors';

export interface ObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
  /** sha256 hex of the content, when Fineflow wrote the object (metadata `x-amz-meta-sha256`); from `stat` only. */
  readonly sha256?: string;
  /** S3 version id, in a versioned bucket; from `stat` only. */
  readonly versionId?: string;
}

/** One version of an object in a versioned bucket, as `listVersions` returns it. */
export interface ObjectVersionInfo {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  /** The version a plain GET reads (a delete marker can be the latest: then the object reads as deleted). */
  readonly isLatest: boolean;
  readonly isDeleteMarker: boolean;
  readonly size: number;
  readonly lastModified: Date;
}

export interface PutResult {
  readonly uri: string;
  readonly size: number;
  readonly sha256: string;
  readonly etag: string;
  /** S3 version id of what was written, in a versioned bucket. */
  readonly versionId?: string;
}

/** Which version of an object to read; default the current one. */
export interface ReadOptions {
  /** S3 version id (a versioned bucket keeps overwritten and deleted objects readable by it). */
  readonly versionId?: string;
}

/** A cap on what one call reads into memory; over it is ResourceLimitError (code `object-too-large`). */
export interface ReadLimit {
  /** Default {@link DEFAULT_MAX_READ_BYTES} for getBytes, {@link DEFAULT_MAX_JSON_BYTES} for getJson. */
  readonly maxBytes?: number;
}

/**
 * Objects are untrusted input: getBytes reads at most this much into memory unless told otherwise (stream larger
 * ones).
 */
export const DEFAULT_MAX_READ_BYTES = 1024 * 1024 * 1024;
/** JSON documents (manifests, cards, checkpoints' metadata) are small; a 64 MiB one is an attack or a bug. */
export const DEFAULT_MAX_JSON_BYTES = 64 * 1024 * 1024;

/**
 * HTML reports (an evaluate stage's report.html) are self-contained pages of tables and SVG figures, well under a few
 * MiB; a report over this is not one Fineflow wrote (the bucket is writable by pipeline code), so the CLI and the UI
 * refuse to copy or serve it.
 */
export const MAX_HTML_REPORT_BYTES = 64 * 1024 * 1024;

export function objectTooLarge(uri: string, maxBytes: number): ResourceLimitError {
  return new ResourceLimitError(`${uri} is larger than ${maxBytes} bytes, the most read into memory at once here`, {
    uri,
    code: 'object-too-large',
    maxBytes,
  });
}

/** A bounded listing: where to start and how many objects at most (the first ones in key order). */
export interface ListOptions {
  /** List only keys after this one (an object key, not a URI), as S3's `start-after`. */
  readonly startAfter?: string;
  /** At most this many objects; the listing stops there instead of paging on. */
  readonly maxKeys?: number;
}

export interface BucketOptions {
  /**
   * Turn on S3 versioning when the bucket is created (dataset buckets: a dataset version then
   * stays readable after its objects are overwritten or deleted). An existing bucket is left as is.
   */
  readonly versioned?: boolean;
  /** When set and the bucket does not exist: throw what it returns, not create it (src/storage/bucket-guard.ts). */
  readonly refuseToCreate?: () => Error;
}

/**
 * A conditional write (S3 `If-None-Match: *` / `If-Match: <etag>`): the put fails with
 * ConflictError (code `precondition-failed`) when the object is not in the expected state, so a
 * read-modify-write cannot lose a concurrent update. Single-part objects only (up to one part, 6 MiB).
 */
export type WriteCondition = { readonly ifNoneMatch: '*' } | { readonly ifMatch: string };

export interface PutOptions {
  readonly contentType?: string;
  readonly condition?: WriteCondition;
  /** Called as bytes are uploaded, for progress reporting. */
  readonly onProgress?: (bytesSoFar: number) => void;
}

export interface ObjectStore {
  /** Create the bucket when it does not exist. Idempotent. */
  ensureBucket(bucket: string, options?: BucketOptions): Promise<void>;
  /** Stream an object in; memory stays flat whatever the size. Records sha256 as metadata. */
  putStream(uri: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  putBytes(uri: string, body: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  putJson(uri: string, value: unknown, options?: Pick<PutOptions, 'condition'>): Promise<PutResult>;
  /**
   * Stream an object out. Throws NotFoundError (code `not-found`, or `bucket-not-found`) when it is
   * missing, AccessDeniedError when the credentials may not read it, DependencyUnavailableError when
   * the store does not answer. When the object has a recorded sha256 the stream verifies it and fails
   * at its end on a mismatch (CorruptDataError, code `checksum-mismatch`). With `versionId`,
   * that version (NotFoundError when it no longer exists).
   */
  getStream(uri: string, options?: ReadOptions): Promise<Readable>;
  getBytes(uri: string, limit?: ReadLimit): Promise<Buffer>;
  getJson<T = unknown>(uri: string, limit?: ReadLimit): Promise<T>;
  /**
   * Metadata, or undefined when the object (or that version of it) does not exist (any other failure throws, as for
   * getStream).
   */
  stat(uri: string, options?: ReadOptions): Promise<ObjectInfo | undefined>;
  /**
   * Every object under a prefix URI (`s3://bucket/prefix/`), recursively, in key order; with `options`, only those
   * after `startAfter` and at most `maxKeys` of them, so a caller can bound what a large prefix costs.
   * Entries carry no `sha256`: S3 listings do not return user metadata; `stat` an object for it.
   */
  list(prefixUri: string, options?: ListOptions): Promise<ObjectInfo[]>;
  /**
   * Every version of every object under a prefix URI, delete markers included (a bucket without versioning lists
   * each object once, with version id `null`). Optional: stores without versions (test doubles) omit it.
   */
  listVersions?(prefixUri: string): Promise<ObjectVersionInfo[]>;
  /** Removes an object (in a versioned bucket: adds a delete marker); with `versionId`, that version for good. */
  remove(uri: string, options?: { readonly versionId?: string }): Promise<void>;
  /** Remove every object under a prefix. */
  removePrefix(prefixUri: string): Promise<void>;
  /**
   * A time-limited GET URL for one object (the UI's artifact downloads), signed with the store's
   * credentials without revealing them. Optional: stores without signing (test doubles) omit it.
   */
  presignGet?(uri: string, expirySeconds: number): Promise<string>;
}

/**
 * A store as a plain object of bound methods. Callers wrap a store by spreading it (`{ ...store, getBytes }`), which
 * the prototype methods of a class instance would not survive; the store factories return this.
 */
export function plainObjectStore<S extends ObjectStore>(store: S): ObjectStore {
  return {
    ensureBucket: store.ensureBucket.bind(store),
    putStream: store.putStream.bind(store),
    putBytes: store.putBytes.bind(store),
    putJson: store.putJson.bind(store),
    getStream: store.getStream.bind(store),
    getBytes: store.getBytes.bind(store),
    getJson: store.getJson.bind(store),
    stat: store.stat.bind(store),
    list: store.list.bind(store),
    remove: store.remove.bind(store),
    removePrefix: store.removePrefix.bind(store),
    ...(store.presignGet ? { presignGet: store.presignGet.bind(store) } : {}),
    ...(store.listVersions ? { listVersions: store.listVersions.bind(store) } : {}),
  };
}
