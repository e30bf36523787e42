/**
 * The object store behind every byte Fineflow keeps: datasets, shards, checkpoints, models,
 * reports, logs and cache entries. Activities receive an `ObjectStore` at worker start
 * (dependency injection, as in Temporal's samples); the production implementation is
 * `createMinioObjectStore` over the `minio` client. URIs are `s3://bucket/key`.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
  /** sha256 hex of the content, when Fineflow wrote the object (metadata `x-amz-meta-sha256`); from `stat` only. */
  readonly sha256?: string;
}

export interface PutResult {
  readonly uri: string;
  readonly size: number;
  readonly sha256: string;
  readonly etag: string;
}

export interface PutOptions {
  readonly contentType?: string;
  /** Called as bytes are uploaded, for progress reporting. */
  readonly onProgress?: (bytesSoFar: number) => void;
}

export interface ObjectStore {
  /** Create the bucket when it does not exist. Idempotent. */
  ensureBucket(bucket: string): Promise<void>;
  /** Stream an object in; memory stays flat whatever the size. Records sha256 as metadata. */
  putStream(uri: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  putBytes(uri: string, body: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  putJson(uri: string, value: unknown): Promise<PutResult>;
  /**
   * Stream an object out. Throws InvalidInputError (code `not-found`) when it is missing. When the
   * object has a recorded sha256 the stream verifies it and fails at its end on a mismatch
   * (InvalidInputError, code `checksum-mismatch`).
   */
  getStream(uri: string): Promise<Readable>;
  getBytes(uri: string): Promise<Buffer>;
  getJson<T = unknown>(uri: string): Promise<T>;
  /** Metadata, or undefined when the object does not exist. */
  stat(uri: string): Promise<ObjectInfo | undefined>;
  /**
   * Every object under a prefix URI (`s3://bucket/prefix/`), recursively, in key order.
   * Entries carry no `sha256`: S3 listings do not return user metadata; `stat` an object for it.
   */
  list(prefixUri: string): Promise<ObjectInfo[]>;
  remove(uri: string): Promise<void>;
  /** Remove every object under a prefix. */
  removePrefix(prefixUri: string): Promise<void>;
}
