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
  plainObjectStore,
  type BucketOptions,
  type ListOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type ReadLimit,
  type ReadOptions,
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
  const store = new InMemoryStore(options.buckets ?? []);
  return { ...plainObjectStore(store), uris: () => store.uris() };
}

/** The state and behaviour of one memory store; created through createMemoryObjectStore. */
class InMemoryStore implements ObjectStore {
  private readonly buckets: Set<string>;
  private readonly objects = new Map<string, StoredObject>();

  constructor(buckets: readonly string[]) {
    this.buckets = new Set(buckets);
  }

  async ensureBucket(bucket: string, bucketOptions: BucketOptions = {}): Promise<void> {
    parseS3Uri(formatS3Uri({ bucket, key: '' }));
    if (!this.buckets.has(bucket) && bucketOptions.refuseToCreate) throw bucketOptions.refuseToCreate();
    this.buckets.add(bucket);
  }

  async putStream(uri: string, body: Readable, putOptions: PutOptions = {}): Promise<PutResult> {
    objectLocation(uri);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    return this.store(uri, Buffer.concat(chunks), putOptions);
  }

  async putBytes(uri: string, body: Uint8Array | string, putOptions: PutOptions = {}): Promise<PutResult> {
    return this.store(uri, typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body), putOptions);
  }

  async putJson(uri: string, value: unknown, putOptions: Pick<PutOptions, 'condition'> = {}): Promise<PutResult> {
    return this.store(uri, Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8'), {
      contentType: 'application/json',
      ...putOptions,
    });
  }

  async getStream(uri: string, readOptions: ReadOptions = {}): Promise<Readable> {
    // Keeps no versions: a version id can only name what is not here.
    if (readOptions.versionId)
      throw new NotFoundError(
        `${uri} version ${readOptions.versionId} does not exist (the memory store keeps no versions)`,
        { uri, code: 'not-found' },
      );
    return Readable.from([this.find(uri).bytes]);
  }

  async getBytes(uri: string, limit: ReadLimit = {}): Promise<Buffer> {
    return Buffer.from(this.capped(uri, limit.maxBytes ?? DEFAULT_MAX_READ_BYTES));
  }

  async getJson<T = unknown>(uri: string, limit: ReadLimit = {}): Promise<T> {
    const text = this.capped(uri, limit.maxBytes ?? DEFAULT_MAX_JSON_BYTES).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new InvalidInputError(`${uri} is not valid JSON: ${(error as Error).message}`, {
        uri,
        code: 'invalid-json',
      });
    }
  }

  async stat(uri: string, readOptions: ReadOptions = {}): Promise<ObjectInfo | undefined> {
    const location = objectLocation(uri);
    this.requireBucket(location, uri);
    if (readOptions.versionId) return undefined;
    const found = this.objects.get(formatS3Uri(location));
    return found ? info(formatS3Uri(location), found) : undefined;
  }

  async list(prefixUri: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    // Like an S3 listing: no user metadata, so no sha256.
    const { startAfter } = options;
    const listed = this.under(prefixUri).map(([uri, object]) => {
      const { sha256: _omitted, ...entry } = info(uri, object);
      return entry;
    });
    return listed
      .filter((entry) => startAfter === undefined || entry.key > startAfter)
      .slice(0, options.maxKeys ?? listed.length);
  }

  async remove(uri: string): Promise<void> {
    const location = objectLocation(uri);
    this.requireBucket(location, uri);
    this.objects.delete(formatS3Uri(location));
  }

  async removePrefix(prefixUri: string): Promise<void> {
    for (const [uri] of this.under(prefixUri)) this.objects.delete(uri);
  }

  uris(): string[] {
    return [...this.objects.keys()].sort();
  }

  private requireBucket(location: S3Location, uri: string): void {
    if (!this.buckets.has(location.bucket)) {
      throw new NotFoundError(
        `${uri}: the bucket does not exist (create it with ensureBucket, or \`fineflow data push\`)`,
        { uri, code: 'bucket-not-found' },
      );
    }
  }

  private find(uri: string): StoredObject {
    const location = objectLocation(uri);
    this.requireBucket(location, uri);
    const found = this.objects.get(formatS3Uri(location));
    if (!found) throw new NotFoundError(`${uri} does not exist`, { uri, code: 'not-found' });
    return found;
  }

  private store(uri: string, bytes: Buffer, putOptions: PutOptions): PutResult {
    const location = objectLocation(uri);
    this.requireBucket(location, uri);
    checkCondition(uri, this.objects.get(formatS3Uri(location)), putOptions.condition);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const etag = createHash('md5').update(bytes).digest('hex');
    this.objects.set(formatS3Uri(location), {
      bytes,
      contentType: putOptions.contentType ?? 'application/octet-stream',
      sha256,
      etag,
      lastModified: new Date(),
    });
    putOptions.onProgress?.(bytes.length);
    return { uri: formatS3Uri(location), size: bytes.length, sha256, etag };
  }

  private capped(uri: string, maxBytes: number): Buffer {
    const bytes = this.find(uri).bytes;
    if (bytes.length > maxBytes) throw objectTooLarge(uri, maxBytes);
    return bytes;
  }

  /** The objects under a prefix URI, in key order. */
  private under(prefixUri: string): [string, StoredObject][] {
    const prefix = parseS3Uri(prefixUri);
    this.requireBucket(prefix, prefixUri);
    const start = formatS3Uri(prefix);
    return [...this.objects.entries()]
      .filter(([uri]) => uri.startsWith(start))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

function objectLocation(uri: string): S3Location {
  const location = parseS3Uri(uri);
  if (location.key === '' || location.key.endsWith('/')) {
    throw new InvalidInputError(`${uri} names a prefix, not an object`, { uri, code: 'invalid-uri' });
  }
  return location;
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
