/**
 * An ObjectStore over a local directory (`<root>/<bucket>/<key>`), for ML unit tests and
 * child-process tests: bytes live on disk, so tests can measure that readers keep memory
 * bounded, and a forked child can open the same store from its path.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError } from '../../../../src/core/errors';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult } from '../../../../src/storage/object-store';
import { parseS3Uri, uriOf } from '../../../../src/ml/uri';

export function createDirectoryObjectStore(options: { readonly root: string }): ObjectStore {
  const root = options.root;
  const fileOf = (uri: string): string => {
    const { bucket, key } = parseS3Uri(uri);
    return path.join(root, bucket, key);
  };
  const shaFile = (file: string): string => `${file}.__sha256`;

  async function putStream(uri: string, body: Readable, putOptions?: PutOptions): Promise<PutResult> {
    const file = fileOf(uri);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const hash = createHash('sha256');
    let size = 0;
    const tmp = `${file}.__tmp${process.pid}`;
    await pipeline(
      body,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          putOptions?.onProgress?.(size);
          callback(null, chunk);
        },
      }),
      createWriteStream(tmp),
    );
    await fs.rename(tmp, file);
    const sha256 = hash.digest('hex');
    await fs.writeFile(shaFile(file), sha256);
    return { uri, size, sha256, etag: sha256.slice(0, 32) };
  }

  async function exists(file: string): Promise<boolean> {
    try {
      return (await fs.stat(file)).isFile();
    } catch {
      return false;
    }
  }

  async function walk(dir: string): Promise<string[]> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    const files: string[] = [];
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) files.push(...(await walk(full)));
      else if (!entry.name.includes('.__')) files.push(full);
    }
    return files;
  }

  const store: ObjectStore = {
    async ensureBucket(bucket) {
      await fs.mkdir(path.join(root, bucket), { recursive: true });
    },
    putStream,
    putBytes: (uri, body, putOptions) => putStream(uri, Readable.from([Buffer.from(body)]), putOptions),
    putJson: (uri, value) =>
      putStream(uri, Readable.from([Buffer.from(JSON.stringify(value))]), { contentType: 'application/json' }),
    async getStream(uri) {
      const file = fileOf(uri);
      if (!(await exists(file))) throw new NotFoundError(`${uri} does not exist`, { uri, code: 'not-found' });
      return createReadStream(file);
    },
    async getBytes(uri) {
      const file = fileOf(uri);
      if (!(await exists(file))) throw new NotFoundError(`${uri} does not exist`, { uri, code: 'not-found' });
      return fs.readFile(file);
    },
    async getJson<T>(uri: string): Promise<T> {
      return JSON.parse((await store.getBytes(uri)).toString('utf8')) as T;
    },
    async stat(uri) {
      const file = fileOf(uri);
      if (!(await exists(file))) return undefined;
      const info = await fs.stat(file);
      const { bucket, key } = parseS3Uri(uri);
      const sha256 = await fs.readFile(shaFile(file), 'utf8').catch(() => undefined);
      return {
        bucket,
        key,
        size: info.size,
        etag: (sha256 ?? '').slice(0, 32),
        lastModified: info.mtime,
        ...(sha256 ? { sha256 } : {}),
      };
    },
    async list(prefixUri) {
      const { bucket, key: prefix } = parseS3Uri(prefixUri);
      const base = path.join(root, bucket);
      const files = await walk(base);
      const infos: ObjectInfo[] = [];
      for (const file of files) {
        const key = path.relative(base, file).split(path.sep).join('/');
        if (!key.startsWith(prefix)) continue;
        const info = await store.stat(uriOf(bucket, key));
        if (info) infos.push(info);
      }
      return infos.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async remove(uri) {
      const file = fileOf(uri);
      await fs.rm(file, { force: true });
      await fs.rm(shaFile(file), { force: true });
    },
    async removePrefix(prefixUri) {
      for (const info of await store.list(prefixUri)) await store.remove(uriOf(info.bucket, info.key));
    },
  };
  return store;
}
