/**
 * The production {@link ObjectStore}: MinIO or any S3 endpoint through the `minio` client.
 *
 * Streaming: uploads go through a hashing Transform into a multipart upload with small parts,
 * so memory stays at a few parts whatever the object size. The sha256 is only known once the
 * last byte has passed, while S3 metadata is fixed at upload start, so a streamed object gets its
 * `x-amz-meta-sha256` from a server-side copy onto itself (metadata only on MinIO). Downloads of
 * objects carrying a sha256 are verified as they stream: a mismatch fails the stream at its end.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Socket } from 'node:net';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, CopyDestinationOptions, CopySourceOptions, S3Error, type BucketItem } from 'minio';
import type { S3Config } from '../config';
import {
  AccessDeniedError,
  ConflictError,
  CorruptDataError,
  DependencyUnavailableError,
  FineflowError,
  InternalError,
  InvalidInputError,
  NotFoundError,
  ensureError,
} from '../core/errors';
import {
  DEFAULT_MAX_JSON_BYTES,
  DEFAULT_MAX_READ_BYTES,
  objectTooLarge,
  plainObjectStore,
  type BucketOptions,
  type ListOptions,
  type ObjectInfo,
  type ObjectVersionInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type ReadOptions,
  type WriteCondition,
  type ReadLimit,
} from './object-store';
import { formatS3Uri, parseS3Uri, type S3Location } from '../core/storage/uri';

/**
 * Multipart part size. Memory per upload is a few parts (the client buffers one while uploading another); with
 * 10,000 parts per upload this caps a streamed object at ~58 GiB, which is far above any dataset shard Fineflow writes.
 */
const PART_SIZE = 6 * 1024 * 1024;
/** User metadata key; S3 sends it as `x-amz-meta-sha256`. */
const SHA256_METADATA = 'sha256';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject', 'NoSuchVersion']);
const ACCESS_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
]);
const UNAVAILABLE_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'XMinioServerNotInitialized',
  'XMinioStorageFull',
]);
const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** Turns a minio / network error into the Fineflow error class that says whether a retry can help. */
export function mapS3Error(thrown: unknown, uri: string, operation: string): FineflowError {
  if (thrown instanceof FineflowError) return thrown;
  const error = ensureError(thrown);
  const code = error instanceof S3Error ? error.code : (error as NodeJS.ErrnoException).code;
  const context = { uri, operation, s3Code: code };
  if (code && NOT_FOUND_CODES.has(code)) {
    return new NotFoundError(`${uri} does not exist`, { ...context, code: 'not-found' }, { cause: error });
  }
  if (code === 'PreconditionFailed' || code === 'ConditionalRequestConflict') {
    return new ConflictError(
      `${operation} ${uri}: changed concurrently (${code}); read it again and retry`,
      { ...context, code: 'precondition-failed' },
      { cause: error },
    );
  }
  if (code === 'NoSuchBucket') {
    return new NotFoundError(
      `${uri}: the bucket does not exist (create it with ensureBucket, or \`fineflow data push\`)`,
      { ...context, code: 'bucket-not-found' },
      { cause: error },
    );
  }
  if (code && ACCESS_CODES.has(code)) {
    return new AccessDeniedError(
      `${operation} ${uri}: access denied (${code}); check FINEFLOW_S3_ACCESS_KEY / FINEFLOW_S3_SECRET_KEY`,
      { ...context, code: 'access-denied' },
      { cause: error },
    );
  }
  if (
    (code && (NETWORK_ERRNOS.has(code) || UNAVAILABLE_CODES.has(code))) ||
    /Retryable HTTP status|socket hang up|timed? ?out/i.test(error.message)
  ) {
    return new DependencyUnavailableError(
      `${operation} ${uri}: object store unavailable (${code ?? error.message})`,
      { ...context, code: 'unavailable' },
      { cause: error },
    );
  }
  return new InternalError(`${operation} ${uri} failed: ${error.message}`, context, { cause: error });
}

/** Hashes and counts the bytes that pass through, reporting progress. */
class HashingCounter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onProgress?: (bytesSoFar: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    callback(null, chunk);
  }
}

/** Passes bytes through and fails at the end when their sha256 differs from the recorded one. */
export class Sha256Verifier extends Transform {
  private readonly hash = createHash('sha256');
  constructor(
    private readonly expected: string,
    private readonly uri: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (actual === this.expected) callback();
    else
      callback(
        new CorruptDataError(`${this.uri} is corrupt: sha256 ${actual} does not match the recorded ${this.expected}`, {
          uri: this.uri,
          code: 'checksum-mismatch',
          expected: this.expected,
          actual,
        }),
      );
  }
}

/** S3's conditional-write headers; the minio client passes If-None-Match / If-Match through unprefixed. */
function conditionHeaders(condition: WriteCondition | undefined): Record<string, string> {
  if (!condition) return {};
  return 'ifNoneMatch' in condition
    ? { 'If-None-Match': condition.ifNoneMatch }
    : { 'If-Match': `"${condition.ifMatch.replace(/"/g, '')}"` };
}

function toObjectInfo(
  location: S3Location,
  stat: {
    size: number;
    etag: string;
    lastModified: Date;
    metaData?: Record<string, unknown>;
    versionId?: string | null;
  },
): ObjectInfo {
  const sha256 = stat.metaData?.[SHA256_METADATA];
  return {
    bucket: location.bucket,
    key: location.key,
    size: stat.size,
    etag: stat.etag,
    lastModified: stat.lastModified,
    ...(typeof sha256 === 'string' && sha256 !== '' ? { sha256 } : {}),
    // MinIO reports the version `null` for objects written while versioning was off.
    ...(stat.versionId && stat.versionId !== 'null' ? { versionId: stat.versionId } : {}),
  };
}

function objectKey(uri: string): S3Location {
  const location = parseS3Uri(uri);
  if (location.key === '' || location.key.endsWith('/')) {
    throw new InvalidInputError(`${uri} names a prefix, not an object`, { uri, code: 'invalid-uri' });
  }
  return location;
}

export interface MinioStoreOptions {
  /**
   * A connection that sends or receives nothing for this long is closed and the call fails with
   * DependencyUnavailableError (the client has no timeout of its own, so a hung server would
   * otherwise stall forever). Default 120 s: long enough for a slow consumer of a download.
   */
  readonly idleTimeoutMs?: number;
  /** Session token of temporary (STS) credentials, e.g. a session narrowed by a policy. */
  readonly sessionToken?: string;
  /**
   * Ends the store: when it aborts, every connection is closed with its reason, so a call waiting on a server that
   * does not answer fails at once, and so does every later call (`serve` stopped while its model loads).
   */
  readonly signal?: AbortSignal;
}

const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/**
 * Keep-alive sockets idle longer than this are closed by us before the server closes them, so a
 * request never races a server-side close ("socket hang up"); Node's global agent uses 5 s.
 */
const FREE_SOCKET_TIMEOUT_MS = 4_000;

/** The operator's CA bundle (FINEFLOW_S3_CA), read once when the store is created. */
function readS3Ca(caPath: string): Buffer {
  try {
    return readFileSync(caPath);
  } catch (error) {
    throw new InvalidInputError(
      `FINEFLOW_S3_CA=${caPath}: cannot read the CA bundle (${ensureError(error).message})`,
      { variable: 'FINEFLOW_S3_CA' },
      { cause: error },
    );
  }
}

/**
 * A keep-alive HTTP(S) agent with two timeouts: a socket in use that sees no traffic for
 * `idleTimeoutMs` is destroyed with ETIMEDOUT (failing the call), and a pooled free socket is
 * dropped after FREE_SOCKET_TIMEOUT_MS (Node destroys free sockets on their timeout itself).
 */
function objectStoreAgent(useSSL: boolean, idleTimeoutMs: number, caPath?: string, signal?: AbortSignal): HttpAgent {
  const agent = useSSL
    ? new HttpsAgent({ keepAlive: true, timeout: idleTimeoutMs, ...(caPath ? { ca: readS3Ca(caPath) } : {}) })
    : new HttpAgent({ keepAlive: true, timeout: idleTimeoutMs });
  const isFree = (socket: Socket): boolean =>
    Object.values(agent.freeSockets).some((sockets) => sockets?.includes(socket));
  const open = new Set<Socket>();
  const aborted = (): Error =>
    Object.assign(new Error(`object store closed: ${String(signal?.reason ?? 'aborted')}`), { code: 'ABORT_ERR' });
  signal?.addEventListener('abort', () => open.forEach((socket) => socket.destroy(aborted())), { once: true });
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = (options, callback) => {
    const socket = createConnection(options, callback);
    if (socket instanceof Socket) {
      if (signal?.aborted) process.nextTick(() => socket.destroy(aborted()));
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      socket.on('timeout', () => {
        if (!isFree(socket))
          socket.destroy(
            Object.assign(new Error(`no response from the object store for ${idleTimeoutMs} ms`), {
              code: 'ETIMEDOUT',
            }),
          );
      });
    }
    return socket;
  };
  const keepSocketAlive = agent.keepSocketAlive.bind(agent);
  agent.keepSocketAlive = (socket) => {
    const keep = keepSocketAlive(socket);
    if (socket instanceof Socket) socket.setTimeout(FREE_SOCKET_TIMEOUT_MS);
    return keep;
  };
  const reuseSocket = agent.reuseSocket.bind(agent);
  agent.reuseSocket = (socket, request) => {
    reuseSocket(socket, request);
    if (socket instanceof Socket) socket.setTimeout(idleTimeoutMs);
  };
  return agent;
}

export function createMinioObjectStore(s3: S3Config, storeOptions: MinioStoreOptions = {}): ObjectStore {
  return plainObjectStore(new MinioObjectStore(s3, storeOptions));
}

/** The MinIO / S3 implementation; created through createMinioObjectStore. */
class MinioObjectStore implements ObjectStore {
  private readonly client: Client;
  private readonly region: string;

  constructor(s3: S3Config, storeOptions: MinioStoreOptions) {
    this.region = s3.region;
    this.client = new Client({
      endPoint: s3.endPoint,
      port: s3.port,
      useSSL: s3.useSSL,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      ...(storeOptions.sessionToken ? { sessionToken: storeOptions.sessionToken } : {}),
      region: s3.region,
      partSize: PART_SIZE,
      transportAgent: objectStoreAgent(
        s3.useSSL,
        storeOptions.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
        s3.caPath,
        storeOptions.signal,
      ),
    });
  }

  async ensureBucket(bucket: string, bucketOptions: BucketOptions = {}): Promise<void> {
    const uri = formatS3Uri({ bucket, key: '' });
    parseS3Uri(uri);
    let refused: Error | undefined;
    try {
      if (await this.client.bucketExists(bucket)) return;
      if (bucketOptions.refuseToCreate) refused = bucketOptions.refuseToCreate();
      else await this.client.makeBucket(bucket, this.region);
      if (bucketOptions.versioned) await this.client.setBucketVersioning(bucket, { Status: 'Enabled' });
    } catch (thrown) {
      // Two workers bootstrapping at once: the loser sees the bucket already there.
      if (thrown instanceof S3Error && thrown.code === 'BucketAlreadyOwnedByYou') return;
      throw mapS3Error(thrown, uri, 'create bucket');
    }
    if (refused) throw refused;
  }

  async putStream(uri: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const location = objectKey(uri);
    const contentType = options.contentType ?? DEFAULT_CONTENT_TYPE;
    const counter = new HashingCounter(options.onProgress);
    const piping = pipeline(body, counter);
    const chunks = counter[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    // Read up to one part first: a small object goes up in one request with its sha256 (and an
    // empty stream, which a multipart upload cannot represent, works too).
    const { head, ended } = await readHead(uri, chunks, piping);
    if (ended)
      return this.putBuffer(location, Buffer.concat(head), contentType, counter.hash.digest('hex'), options.condition);
    if (options.condition) {
      counter.destroy();
      throw new InvalidInputError(`put ${uri}: conditional writes are single-part only (at most ${PART_SIZE} bytes)`, {
        uri,
        code: 'condition-too-large',
      });
    }
    await this.putMultipart(uri, location, contentType, { head, chunks, piping });
    const sha256 = counter.hash.digest('hex');
    let written: { etag: string; versionId?: string };
    try {
      written = await this.setSha256(location, sha256, contentType);
    } catch (thrown) {
      throw mapS3Error(thrown, uri, 'put (recording sha256)');
    }
    return { uri: formatS3Uri(location), size: counter.bytes, sha256, ...written };
  }

  async putBytes(uri: string, body: Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    const location = objectKey(uri);
    const bytes =
      typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // In memory already, so the hash is known up front and goes in with the object.
    const result = await this.putBuffer(
      location,
      bytes,
      options.contentType ?? DEFAULT_CONTENT_TYPE,
      createHash('sha256').update(bytes).digest('hex'),
      options.condition,
    );
    options.onProgress?.(bytes.length);
    return result;
  }

  putJson(uri: string, value: unknown, options: Pick<PutOptions, 'condition'> = {}): Promise<PutResult> {
    return this.putBytes(uri, `${JSON.stringify(value, null, 2)}\n`, { contentType: 'application/json', ...options });
  }

  async getStream(uri: string, options: ReadOptions = {}): Promise<Readable> {
    const location = objectKey(uri);
    let response: Readable;
    try {
      response = await this.client.getObject(
        location.bucket,
        location.key,
        options.versionId ? { versionId: options.versionId } : {},
      );
    } catch (thrown) {
      throw mapS3Error(thrown, uri, 'get');
    }
    const recorded = (response as Partial<IncomingMessage>).headers?.[`x-amz-meta-${SHA256_METADATA}`];
    const output =
      typeof recorded === 'string' && recorded !== ''
        ? new Sha256Verifier(recorded, uri)
        : new Transform({ transform: (chunk, _e, cb) => cb(null, chunk) });
    response.on('error', (error) => output.destroy(mapS3Error(error, uri, 'get')));
    // A consumer that stops early must not leave the HTTP response open.
    output.on('close', () => response.destroy());
    response.pipe(output);
    return output;
  }

  getBytes(uri: string, limit: ReadLimit = {}): Promise<Buffer> {
    return this.readAll(uri, limit.maxBytes ?? DEFAULT_MAX_READ_BYTES);
  }

  async getJson<T = unknown>(uri: string, limit: ReadLimit = {}): Promise<T> {
    const text = (await this.readAll(uri, limit.maxBytes ?? DEFAULT_MAX_JSON_BYTES)).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new InvalidInputError(`${uri} is not valid JSON: ${ensureError(error).message}`, {
        uri,
        code: 'invalid-json',
      });
    }
  }

  async stat(uri: string, options: ReadOptions = {}): Promise<ObjectInfo | undefined> {
    const location = objectKey(uri);
    try {
      return toObjectInfo(
        location,
        await this.client.statObject(
          location.bucket,
          location.key,
          options.versionId ? { versionId: options.versionId } : {},
        ),
      );
    } catch (thrown) {
      const mapped = mapS3Error(thrown, uri, 'stat');
      if (mapped instanceof NotFoundError && mapped.details.code === 'not-found') return undefined;
      throw mapped;
    }
  }

  async list(prefixUri: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    const prefix = parseS3Uri(prefixUri);
    const found: ObjectInfo[] = [];
    const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
    try {
      // Leaving the loop early destroys the listing stream: no further page is requested.
      for await (const item of this.listItems(prefix, options.startAfter)) {
        if (found.length >= maxKeys) break;
        if (!item.name) continue;
        found.push(
          toObjectInfo(
            { bucket: prefix.bucket, key: item.name },
            { size: item.size, etag: item.etag ?? '', lastModified: item.lastModified ?? new Date(0) },
          ),
        );
      }
    } catch (thrown) {
      throw mapS3Error(thrown, prefixUri, 'list');
    }
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listVersions(prefixUri: string): Promise<ObjectVersionInfo[]> {
    const prefix = parseS3Uri(prefixUri);
    const found: ObjectVersionInfo[] = [];
    try {
      const stream = this.client.listObjects(prefix.bucket, prefix.key, true, { IncludeVersion: true });
      for await (const raw of stream as AsyncIterable<Record<string, unknown>>) {
        const key = typeof raw.name === 'string' ? raw.name : undefined;
        if (!key) continue;
        found.push({
          bucket: prefix.bucket,
          key,
          versionId: typeof raw.versionId === 'string' ? raw.versionId : 'null',
          isLatest: raw.isLatest === true || raw.isLatest === 'true',
          isDeleteMarker: raw.isDeleteMarker === true || raw.isDeleteMarker === 'true',
          size: typeof raw.size === 'number' ? raw.size : Number(raw.size ?? 0),
          lastModified: raw.lastModified instanceof Date ? raw.lastModified : new Date(String(raw.lastModified ?? 0)),
        });
      }
    } catch (thrown) {
      throw mapS3Error(thrown, prefixUri, 'list versions');
    }
    return found;
  }

  async remove(uri: string, options: { readonly versionId?: string } = {}): Promise<void> {
    const location = objectKey(uri);
    try {
      await this.client.removeObject(
        location.bucket,
        location.key,
        options.versionId ? { versionId: options.versionId } : undefined,
      );
    } catch (thrown) {
      throw mapS3Error(thrown, uri, 'remove');
    }
  }

  async removePrefix(prefixUri: string): Promise<void> {
    const prefix = parseS3Uri(prefixUri);
    const keys: string[] = [];
    try {
      for await (const item of this.listItems(prefix)) {
        if (item.name) keys.push(item.name);
      }
      if (keys.length === 0) return;
      const failures = (await this.client.removeObjects(prefix.bucket, keys)) as unknown as readonly Record<
        string,
        unknown
      >[];
      const failed = failures.filter((entry) => entry && (entry.Code ?? entry.code ?? entry.Error));
      if (failed.length > 0) {
        throw new InternalError(
          `remove ${prefixUri}: ${failed.length} of ${keys.length} objects could not be removed`,
          { uri: prefixUri, first: JSON.stringify(failed[0]) },
        );
      }
    } catch (thrown) {
      throw mapS3Error(thrown, prefixUri, 'remove prefix');
    }
  }

  async presignGet(uri: string, expirySeconds: number): Promise<string> {
    const location = objectKey(uri);
    try {
      return await this.client.presignedGetObject(location.bucket, location.key, expirySeconds);
    } catch (thrown) {
      throw mapS3Error(thrown, uri, 'presign');
    }
  }

  /** Every object under a prefix (after `startAfter`, a key), recursively, as the S3 listing returns them. */
  private listItems(prefix: S3Location, startAfter?: string): AsyncIterable<BucketItem> {
    return this.client.listObjectsV2(prefix.bucket, prefix.key, true, startAfter) as AsyncIterable<BucketItem>;
  }

  /** One PUT of an object held in memory, its sha256 and any write condition sent with it. */
  private async putBuffer(
    location: S3Location,
    bytes: Buffer,
    contentType: string,
    sha256: string,
    condition?: WriteCondition,
  ): Promise<PutResult> {
    try {
      const uploaded = await this.client.putObject(location.bucket, location.key, bytes, bytes.length, {
        'Content-Type': contentType,
        [SHA256_METADATA]: sha256,
        ...conditionHeaders(condition),
      });
      const versionId = uploaded.versionId && uploaded.versionId !== 'null' ? uploaded.versionId : undefined;
      return {
        uri: formatS3Uri(location),
        size: bytes.length,
        sha256,
        etag: uploaded.etag,
        ...(versionId ? { versionId } : {}),
      };
    } catch (thrown) {
      throw mapS3Error(thrown, formatS3Uri(location), 'put');
    }
  }

  /**
   * A multipart upload of the head already read and the rest of the source. The minio client does not watch its
   * input for errors, so a failing source would leave the upload waiting forever: race the upload against the
   * source pipeline, and drop the incomplete upload when either fails.
   */
  private async putMultipart(
    uri: string,
    location: S3Location,
    contentType: string,
    { head, chunks, piping }: { head: Buffer[]; chunks: AsyncIterator<Buffer>; piping: Promise<void> },
  ): Promise<void> {
    const rest = Readable.from(
      (async function* () {
        yield* head.splice(0);
        for (;;) {
          const next = await chunks.next();
          if (next.done) return;
          yield next.value;
        }
      })(),
      { objectMode: false },
    );
    const uploading = this.client.putObject(location.bucket, location.key, rest, undefined, {
      'Content-Type': contentType,
    });
    try {
      await Promise.all([piping, uploading]);
    } catch (thrown) {
      rest.destroy();
      uploading.catch(() => undefined);
      await this.client.removeIncompleteUpload(location.bucket, location.key).catch(() => undefined);
      throw mapS3Error(thrown, uri, 'put');
    }
  }

  /** A streamed object's sha256 is known only at its end: record it by a server-side copy onto itself. */
  private async setSha256(
    location: S3Location,
    sha256: string,
    contentType: string,
  ): Promise<{ etag: string; versionId?: string }> {
    await this.client.copyObject(
      new CopySourceOptions({ Bucket: location.bucket, Object: location.key }),
      new CopyDestinationOptions({
        Bucket: location.bucket,
        Object: location.key,
        MetadataDirective: 'REPLACE',
        UserMetadata: { [SHA256_METADATA]: sha256 },
        Headers: { 'Content-Type': contentType },
      }),
    );
    // The copy result's etag field differs between S3 flavours; a HEAD reads it reliably.
    const { etag, versionId } = toObjectInfo(location, await this.client.statObject(location.bucket, location.key));
    return { etag, ...(versionId ? { versionId } : {}) };
  }

  /** The whole object, counted as it arrives (not from a header a server or proxy could get wrong). */
  private async readAll(uri: string, maxBytes: number): Promise<Buffer> {
    const stream = await this.getStream(uri);
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of stream) {
      bytes += (chunk as Buffer).length;
      // Stop at once past the limit.
      if (bytes > maxBytes) {
        stream.destroy();
        throw objectTooLarge(uri, maxBytes);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }
}

/**
 * Up to one part of a streamed upload, read before choosing how to send it: `ended` when the source ended within it
 * (then its pipeline has finished, so the hash is complete).
 */
async function readHead(
  uri: string,
  chunks: AsyncIterator<Buffer>,
  piping: Promise<void>,
): Promise<{ readonly head: Buffer[]; readonly ended: boolean }> {
  const head: Buffer[] = [];
  let headBytes = 0;
  try {
    while (headBytes <= PART_SIZE) {
      const next = await chunks.next();
      if (next.done) {
        await piping;
        return { head, ended: true };
      }
      head.push(next.value);
      headBytes += next.value.length;
    }
  } catch (thrown) {
    throw mapS3Error(thrown, uri, 'put (reading the source)');
  }
  return { head, ended: false };
}

/** The object store for a loaded config (worker and CLI entry points). */
export function createObjectStoreFromConfig(
  config: { readonly s3: S3Config },
  options: Pick<MinioStoreOptions, 'signal'> = {},
): ObjectStore {
  return createMinioObjectStore(config.s3, options);
}
