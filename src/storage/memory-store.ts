/**
 * An in-memory {@link ObjectStore} for unit tests of activities and the CLI, so they run without
 * MinIO. TEST-ONLY: never wire it into a worker or the CLI. It follows the MinIO store's contract
 * (buckets must exist, NotFoundError `not-found` / `bucket-not-found`, sha256 recorded on every
 * put, lists in key order); the integration tests hold the real store to the same behaviour.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ConflictError, InvalidInputError, NotFoundError } from '../core/errors';
import {
  DEFAULT_MAX_JSON_BYTES,
  DEFAULT_MAX_READ_BYTES,
  objectTooLarge,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type ReadLimit,
} from './object-store';
import { formatS3Uri, parseS3Uri, type S3Location } from '../core/storage/uri';

interface StoredObject {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly sha256: string;
  readonly etag: string;
  readonly lastModified: Date;
}

export interface MemoryObjectStore extends ObjectStore {
  /** Every stored URI, sorted: lets a test assert what an activity wrote. */
  uris(): string[];
}

export function createMemoryObjectStore(options: { readonly buckets?: readonly string[] } = {}): MemoryObjectStore {
  const buckets = new Set(options.buckets ?? []);
  const objects = new Map<string, StoredObject>();

  function objectLocation(uri: string): S3Location {
    const location = parseS3Uri(uri);
    if (location.key === '' || location.key.endsWith('/')) {
      throw new InvalidInputError(`${uri} names a prefix, not an object`, { uri, code: 'invalid-uri' });
    }
    return location;
  }
  function requireBucket(location: S3Location, uri: string): void {
    if (!buckets.has(location.bucket)) {
      throw new NotFoundError(
        `${uri}: the bucket does not exist (create it with ensureBucket, or \`fineflow data push\`)`,
        { uri, code: 'bucket-not-found' },
      );
    }
  }
  function find(uri: string): StoredObject {
    const location = objectLocation(uri);
    requireBucket(location, uri);
    const found = objects.get(formatS3Uri(location));
    if (!found) throw new NotFoundError(`${uri} does not exist`, { uri, code: 'not-found' });
    return found;
  }
  function checkCondition(uri: string, current: StoredObject | undefined, condition: PutOptions['condition']): void {
    if (!condition) return;
    const holds =
      'ifNoneMatch' in condition ? current === undefined : current?.etag === condition.ifMatch.replace(/"/g, '');
    if (!holds)
      throw new ConflictError(`put ${uri}: changed concurrently (PreconditionFailed); read it again and retry`, {
        uri,
        code: 'precondition-failed',
      });
  }
  function store(uri: string, bytes: Buffer, putOptions: PutOptions): PutResult {
    const location = objectLocation(uri);
    requireBucket(location, uri);
    checkCondition(uri, objects.get(formatS3Uri(location)), putOptions.condition);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const etag = createHash('md5').update(bytes).digest('hex');
    objects.set(formatS3Uri(location), {
      bytes,
      contentType: putOptions.contentType ?? 'application/octet-stream',
      sha256,
      etag,
      lastModified: new Date(),
    });
    putOptions.onProgress?.(bytes.length);
    return { uri: formatS3Uri(location), size: bytes.length, sha256, etag };
  }
  function capped(uri: string, maxBytes: number): Buffer {
    const bytes = find(uri).bytes;
    if (bytes.length > maxBytes) throw objectTooLarge(uri, maxBytes);
    return bytes;
  }
  function info(uri: string, object: StoredObject): ObjectInfo {
    const { bucket, key } = parseS3Uri(uri);
    return {
      bucket,
      key,
      size: object.bytes.length,
      etag: object.etag,
      lastModified: object.lastModified,
      sha256: object.sha256,
    };
  }
  function under(prefixUri: string): [string, StoredObject][] {
    const prefix = parseS3Uri(prefixUri);
    requireBucket(prefix, prefixUri);
    const start = formatS3Uri(prefix);
    return [...objects.entries()]
      .filter(([uri]) => uri.startsWith(start))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  return {
    async ensureBucket(bucket) {
      parseS3Uri(formatS3Uri({ bucket, key: '' }));
      buckets.add(bucket);
    },
    async putStream(uri, body, putOptions = {}) {
      objectLocation(uri);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
      return store(uri, Buffer.concat(chunks), putOptions);
    },
    async putBytes(uri, body, putOptions = {}) {
      return store(uri, typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body), putOptions);
    },
    async putJson(uri, value, putOptions = {}) {
      return store(uri, Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8'), {
        contentType: 'application/json',
        ...putOptions,
      });
    },
    async getStream(uri, readOptions = {}) {
      // Keeps no versions: a version id can only name what is not here.
      if (readOptions.versionId)
        throw new NotFoundError(
          `${uri} version ${readOptions.versionId} does not exist (the memory store keeps no versions)`,
          { uri, code: 'not-found' },
        );
      return Readable.from([find(uri).bytes]);
    },
    async getBytes(uri, limit = {}) {
      return Buffer.from(capped(uri, limit.maxBytes ?? DEFAULT_MAX_READ_BYTES));
    },
    async getJson<T = unknown>(uri: string, limit: ReadLimit = {}): Promise<T> {
      const text = capped(uri, limit.maxBytes ?? DEFAULT_MAX_JSON_BYTES).toString('utf8');
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new InvalidInputError(`${uri} is not valid JSON: ${(error as Error).message}`, {
          uri,
          code: 'invalid-json',
        });
      }
    },
    async stat(uri, readOptions = {}) {
      const location = objectLocation(uri);
      requireBucket(location, uri);
      if (readOptions.versionId) return undefined;
      const found = objects.get(formatS3Uri(location));
      return found ? info(formatS3Uri(location), found) : undefined;
    },
    async list(prefixUri) {
      // Like an S3 listing: no user metadata, so no sha256.
      return under(prefixUri).map(([uri, object]) => {
        const { sha256: _omitted, ...listed } = info(uri, object);
        return listed;
      });
    },
    async remove(uri) {
      const location = objectLocation(uri);
      requireBucket(location, uri);
      objects.delete(formatS3Uri(location));
    },
    async removePrefix(prefixUri) {
      for (const [uri] of under(prefixUri)) objects.delete(uri);
    },
    uris() {
      return [...objects.keys()].sort();
    },
  };
}
