/**
 * `fineflow data push DIR s3://bucket/prefix/` and `fineflow data ls s3://bucket/prefix/`.
 *
 * A push streams every regular file under DIR (memory flat in file size), creating the bucket
 * when needed, and prints the dataset version: the sha256 of the sorted lines
 * `<relative path> <sha256 of the file>\n`. The version depends only on the files' paths and
 * contents, so pushing the same directory twice, or to another prefix, gives the same version.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { loadConfig } from '../../config';
import { DependencyUnavailableError } from '../../errors';
import { createObjectStoreFromConfig } from '../../storage/minio-store';
import type { ObjectStore } from '../../storage/object-store';
import { asPrefixUri, confineToPrefix, formatS3Uri, parseS3Uri } from '../../storage/uri';
import { EXIT, UsageError, type CliCommand, type CliIo } from '../command';

/** One pushed file. */
export interface PushedFile {
  readonly path: string;
  readonly uri: string;
  readonly size: number;
  readonly sha256: string;
}

export interface PushResult {
  readonly prefix: string;
  readonly files: readonly PushedFile[];
  readonly bytes: number;
  /** sha256 over the sorted `<path> <sha256>` lines. */
  readonly version: string;
}

/** Every regular file under `dir`, as paths relative to it with `/` separators, sorted. */
export async function listFilesRecursively(dir: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) found.push(relative(dir, full).split(sep).join('/'));
    }
  }
  await walk(dir);
  return found.sort();
}

export function datasetVersion(files: readonly { readonly path: string; readonly sha256: string }[]): string {
  const lines = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((file) => `${file.path} ${file.sha256}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Streams a directory to a prefix; progress lines go to `progress`. */
export async function pushDirectory(store: ObjectStore, dir: string, prefixUri: string, progress: (line: string) => void): Promise<PushResult> {
  const prefix = asPrefixUri(prefixUri);
  const paths = await listFilesRecursively(dir);
  // Validate every key before the first byte moves.
  const uris = paths.map((path) => formatS3Uri(confineToPrefix(path, prefix)));
  const sizes = await Promise.all(paths.map(async (path) => (await stat(join(dir, path))).size));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  await store.ensureBucket(parseS3Uri(prefix).bucket);
  const files: PushedFile[] = [];
  let done = 0;
  let lastReport = 0;
  for (const [index, path] of paths.entries()) {
    const uri = uris[index] as string;
    const result = await store.putStream(uri, createReadStream(join(dir, path)), {
      onProgress: (bytes) => {
        const now = Date.now();
        if (now - lastReport >= 1000) {
          lastReport = now;
          progress(`  ${path}: ${formatBytes(done + bytes)} of ${formatBytes(total)}`);
        }
      },
    });
    done += result.size;
    files.push({ path, uri: result.uri, size: result.size, sha256: result.sha256 });
    progress(`[${index + 1}/${paths.length}] ${path} ${formatBytes(result.size)}`);
  }
  return { prefix, files, bytes: done, version: datasetVersion(files) };
}

async function withUnavailableExit(io: CliIo, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DependencyUnavailableError) {
      io.stderr.write(`fineflow data: ${error.message}\nIs MinIO running? Start the local stack with \`fineflow dev up\`, or set FINEFLOW_S3_ENDPOINT.\n`);
      return EXIT.unavailable;
    }
    throw error;
  }
}

export const command: CliCommand = {
  name: 'data',
  summary: 'push a directory of data to the object store, or list a prefix',
  usage: 'data push DIR s3://bucket/prefix/ | data ls s3://bucket/prefix/',
  description: `push  streams every file under DIR to the prefix (keeping relative paths), creates the bucket
      if needed, and prints the dataset version: sha256 over the sorted "<path> <sha256>" lines.
ls    lists every object under the prefix (size, time, URI).
Connection: FINEFLOW_S3_ENDPOINT, FINEFLOW_S3_ACCESS_KEY, FINEFLOW_S3_SECRET_KEY, FINEFLOW_S3_REGION.`,
  options: [],
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    const json = args.flags.json === true;
    if (sub === 'push') {
      const [dirArg, target, extra] = rest;
      if (!dirArg || !target || extra !== undefined) throw new UsageError('push takes DIR and s3://bucket/prefix/');
      const dir = resolve(io.cwd, dirArg);
      const info = await stat(dir).catch(() => undefined);
      if (!info?.isDirectory()) throw new UsageError(`${dirArg} is not a directory`);
      parseS3Uri(target);
      const store = createObjectStoreFromConfig(loadConfig(io.env));
      return withUnavailableExit(io, async () => {
        const result = await pushDirectory(store, dir, target, (line) => io.stderr.write(`${line}\n`));
        if (json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else io.stdout.write(`pushed ${result.files.length} files (${formatBytes(result.bytes)}) to ${result.prefix}\nversion ${result.version}\n`);
        return EXIT.ok;
      });
    }
    if (sub === 'ls') {
      const [target, extra] = rest;
      if (!target || extra !== undefined) throw new UsageError('ls takes one s3://bucket/prefix/');
      parseS3Uri(target);
      const store = createObjectStoreFromConfig(loadConfig(io.env));
      return withUnavailableExit(io, async () => {
        const objects = await store.list(target);
        if (json) {
          io.stdout.write(`${JSON.stringify(objects.map((o) => ({ ...o, uri: formatS3Uri(o), lastModified: o.lastModified.toISOString() })), null, 2)}\n`);
        } else {
          for (const o of objects) io.stdout.write(`${formatBytes(o.size).padStart(10)}  ${o.lastModified.toISOString()}  ${formatS3Uri(o)}\n`);
          io.stderr.write(`${objects.length} objects, ${formatBytes(objects.reduce((sum, o) => sum + o.size, 0))}\n`);
        }
        return EXIT.ok;
      });
    }
    throw new UsageError(`expected push or ls${sub ? `, got '${sub}'` : ''}`);
  },
};
