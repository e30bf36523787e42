/** An in-memory ObjectStore for fast ML unit tests. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { NotFoundError } from '../../../../src/core/errors';
import type { ObjectInfo, ObjectStore, PutResult } from '../../../../src/storage/object-store';
import { parseS3Uri } from '../../../../src/ml/uri';

export function createMemoryObjectStore(): ObjectStore & { readonly objects: Map<string, Buffer> } {
  const objects = new Map<string, Buffer>();
  const put = (uri: string, bytes: Buffer): PutResult => {
    parseS3Uri(uri);
    objects.set(uri, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return { uri, size: bytes.length, sha256, etag: sha256.slice(0, 32) };
  };
  const get = (uri: string): Buffer => {
    const bytes = objects.get(uri);
    if (!bytes) throw new NotFoundError(`${uri} does not exist`, { uri, code: 'not-found' });
    return bytes;
  };
  const info = (uri: string, bytes: Buffer): ObjectInfo => {
    const { bucket, key } = parseS3Uri(uri);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return { bucket, key, size: bytes.length, etag: sha256.slice(0, 32), lastModified: new Date(0), sha256 };
  };
  return {
    objects,
    async ensureBucket() {},
    async putStream(uri, body) {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
      return put(uri, Buffer.concat(chunks));
    },
    async putBytes(uri, body) {
      return put(uri, Buffer.from(body));
    },
    async putJson(uri, value) {
      return put(uri, Buffer.from(JSON.stringify(value)));
    },
    async getStream(uri) {
      const bytes = get(uri);
      // Several chunks, so readers are exercised across chunk boundaries.
      const chunks: Buffer[] = [];
      const chunkSize = bytes.length < 4096 ? 7 : 65536;
      for (let offset = 0; offset < bytes.length; offset += chunkSize)
        chunks.push(bytes.subarray(offset, offset + chunkSize));
      return Readable.from(chunks);
    },
    async getBytes(uri) {
      return get(uri);
    },
    async getJson<T>(uri: string): Promise<T> {
      return JSON.parse(get(uri).toString('utf8')) as T;
    },
    async stat(uri) {
      const bytes = objects.get(uri);
      return bytes ? info(uri, bytes) : undefined;
    },
    async list(prefixUri) {
      return [...objects.entries()]
        .filter(([uri]) => uri.startsWith(prefixUri))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([uri, bytes]) => info(uri, bytes));
    },
    async remove(uri) {
      objects.delete(uri);
    },
    async removePrefix(prefixUri) {
      for (const uri of [...objects.keys()]) if (uri.startsWith(prefixUri)) objects.delete(uri);
    },
  };
}
