/**
 * The bytes side of a `command` stage: declared inputs downloaded into a fresh work directory
 * (s3 through the object store, file:// and http(s):// through the outbound policy), declared
 * outputs uploaded from it with their sha256, and the results file read back.
 *
 * The program is untrusted, so nothing it leaves behind is followed out of the work directory:
 * symlinks are refused as outputs and skipped inside output folders, object keys are confined
 * below the folder they land in, and every transfer counts against one byte budget per direction.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep, posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CorruptDataError, InvalidInputError, ResourceLimitError } from '../core/errors';
import type { JsonObject, JsonValue } from '../core/spec/plan-types';
import { asPrefixUri, formatS3Uri, joinS3Uri } from '../core/storage/uri';
import type { OutboundPolicy } from '../security/outbound';
import type { ObjectStore } from '../storage/object-store';
import { readManifest } from '../ml/data/shards';

/** Most objects one folder input or output may hold. */
export const MAX_FOLDER_FILES = 10_000;
/** The results file is small JSON: outputs and metrics, not data. */
export const MAX_RESULTS_BYTES = 1024 * 1024;

export interface InputDeclaration {
  readonly name: string;
  readonly uri: string;
  readonly as: 'file' | 'folder' | 'dataset';
  /** Relative to the work directory. */
  readonly path: string;
}

export interface OutputDeclaration {
  readonly name: string;
  readonly path: string;
  readonly type: 'file' | 'folder';
  readonly optional: boolean;
}

export interface UploadedOutput {
  readonly uri: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly files: number;
  /** Every object written (for the stage cache's existence check); not a stage output. */
  readonly objects: readonly { readonly uri: string; readonly sha256: string }[];
}

/** Bytes left to transfer in one direction; over it is ResourceLimitError (FINEFLOW_COMMAND_MAX_BYTES). */
export class ByteBudget {
  private used = 0;
  constructor(
    readonly limit: number,
    private readonly what: string,
  ) {}

  take(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit)
      throw new ResourceLimitError(
        `the command stage's ${this.what} exceed ${this.limit} bytes; the operator raises ` +
          `FINEFLOW_COMMAND_MAX_BYTES on the worker`,
        { code: 'command-bytes-exceeded', limit: this.limit },
      );
  }

  get total(): number {
    return this.used;
  }
}

/** `relativePath` inside `root`, or an error naming `what`. */
export function insideDir(root: string, relativePath: string, what: string): string {
  const target = resolve(root, relativePath);
  if (target !== root && !target.startsWith(root + sep))
    throw new InvalidInputError(`${what}: ${JSON.stringify(relativePath)} is outside the work directory`, {
      code: 'command-path-outside',
    });
  return target;
}

function counting(budget: ByteBudget, hash?: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        budget.take(chunk.length);
        hash?.update(chunk);
        done(null, chunk);
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

async function streamToFile(source: Readable, target: string, budget: ByteBudget, expectedSha256?: string) {
  await mkdir(dirname(target), { recursive: true });
  const hash = createHash('sha256');
  await pipeline(source, counting(budget, hash), createWriteStream(target, { flags: 'wx' }));
  const actual = hash.digest('hex');
  if (expectedSha256 && actual !== expectedSha256)
    throw new CorruptDataError(`${target} has sha256 ${actual}, the manifest says ${expectedSha256}`, {
      code: 'checksum-mismatch',
    });
}

export interface InputServices {
  readonly store: ObjectStore;
  readonly outbound: OutboundPolicy;
  readonly budget: ByteBudget;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

async function downloadFile(uri: string, target: string, services: InputServices): Promise<void> {
  const { store, outbound, budget, signal } = services;
  if (uri.startsWith('s3://')) return streamToFile(await store.getStream(uri), target, budget);
  if (uri.startsWith('file://')) {
    const path = await outbound.resolveFile(uri);
    return streamToFile(createReadStream(path), target, budget);
  }
  const remaining = Math.max(1, budget.limit - budget.total);
  const body = await outbound.fetchBytes(uri, {
    signal,
    maxBytes: Math.min(remaining, outbound.config.maxDownloadBytes),
  });
  budget.take(body.byteLength);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, body, { flag: 'wx' });
}

async function downloadFolder(uri: string, target: string, services: InputServices): Promise<void> {
  if (!uri.startsWith('s3://'))
    throw new InvalidInputError(`${uri}: a folder input must be an s3:// prefix`, { code: 'command-input-scheme' });
  const prefix = asPrefixUri(uri);
  const objects = await services.store.list(prefix);
  if (objects.length > MAX_FOLDER_FILES)
    throw new ResourceLimitError(
      `${prefix} holds ${objects.length} objects; a folder input takes at most ${MAX_FOLDER_FILES}`,
      {
        code: 'command-folder-too-large',
      },
    );
  for (const object of objects) {
    const objectUri = formatS3Uri(object);
    const rel = objectUri.slice(prefix.length);
    if (rel === '' || rel.endsWith('/')) continue;
    await downloadFile(objectUri, insideDir(target, rel, `object ${objectUri}`), services);
  }
}

interface ManifestShard {
  uri: string;
  sha256: string;
  [key: string]: JsonValue;
}

/** A prepare-data dataset: its manifest, and every shard it lists, verified, with local paths in place of URIs. */
async function downloadDataset(uri: string, target: string, services: InputServices): Promise<void> {
  const manifest = (await readManifest(services.store, uri)) as unknown as JsonObject;
  const splits = manifest?.splits;
  if (manifest?.format !== 'fineflow-shards/v1' || !splits || typeof splits !== 'object' || Array.isArray(splits))
    throw new InvalidInputError(`${uri} is not a prepare-data dataset manifest (format fineflow-shards/v1)`, {
      code: 'command-input-not-dataset',
    });
  const localSplits: Record<string, JsonValue> = {};
  for (const [split, entry] of Object.entries(splits as Record<string, JsonObject>)) {
    const shards = Array.isArray(entry?.shards) ? (entry.shards as unknown as ManifestShard[]) : [];
    if (shards.length > MAX_FOLDER_FILES)
      throw new ResourceLimitError(`${uri}: split ${split} lists ${shards.length} shards`, {
        code: 'command-folder-too-large',
      });
    const local: JsonObject[] = [];
    for (const [index, shard] of shards.entries()) {
      if (typeof shard?.uri !== 'string' || !shard.uri.startsWith('s3://') || typeof shard.sha256 !== 'string')
        throw new InvalidInputError(`${uri}: shard ${index} of ${split} has no s3:// uri and sha256`, {
          code: 'command-input-not-dataset',
        });
      const path = posix.join('shards', `${split}-${String(index).padStart(5, '0')}.ffs`);
      await streamToFile(await services.store.getStream(shard.uri), join(target, path), services.budget, shard.sha256);
      local.push({ ...shard, path, sourceUri: shard.uri });
    }
    localSplits[split] = { ...entry, shards: local };
  }
  await writeFile(
    join(target, 'manifest.json'),
    JSON.stringify({ ...manifest, splits: localSplits, sourceUri: uri }, null, 2),
  );
}

/** Download every declared input into the work directory. */
export async function downloadInputs(
  workDir: string,
  inputs: readonly InputDeclaration[],
  services: InputServices,
): Promise<void> {
  for (const input of inputs) {
    const target = insideDir(workDir, input.path, `inputs.${input.name}.path`);
    const before = services.budget.total;
    if (input.as === 'folder') await downloadFolder(input.uri, target, services);
    else if (input.as === 'dataset') await downloadDataset(input.uri, target, services);
    else await downloadFile(input.uri, target, services);
    services.log(`input ${input.name}: ${input.uri} → ${input.path} (${services.budget.total - before} bytes)`);
  }
}

async function uploadFile(store: ObjectStore, path: string, uri: string, budget: ByteBudget) {
  const info = await lstat(path);
  budget.take(info.size);
  return store.putStream(uri, createReadStream(path));
}

/** Regular files under `dir`, relative, sorted; symlinks and other special files are skipped (reported). */
async function folderFiles(dir: string, log: (line: string) => void): Promise<string[]> {
  const files: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(relative(dir, full).split(sep).join('/'));
      else log(`output folder: skipped ${relative(dir, full)} (not a regular file: symlinks are never followed)`);
      if (files.length > MAX_FOLDER_FILES)
        throw new ResourceLimitError(
          `${dir} holds over ${MAX_FOLDER_FILES} files; an output folder takes at most that many`,
          {
            code: 'command-folder-too-large',
          },
        );
    }
  };
  await walk(dir);
  return files.sort();
}

/** Upload one declared output; undefined when it is optional and missing. */
export async function uploadOutput(
  store: ObjectStore,
  workDir: string,
  outputPrefix: string,
  output: OutputDeclaration,
  budget: ByteBudget,
  log: (line: string) => void,
): Promise<UploadedOutput | undefined> {
  const path = insideDir(workDir, output.path, `outputs.${output.name}.path`);
  const info = await lstat(path).catch(() => undefined);
  if (!info) {
    if (output.optional) return undefined;
    throw new InvalidInputError(
      `the program exited 0 but did not write output ${output.name} (${output.path}); write it, or mark it optional: true`,
      { code: 'command-output-missing', output: output.name },
    );
  }
  // A parent the program replaced by a symlink would lead out of the work directory (to the worker's files).
  insideDir(
    await realpath(workDir),
    relative(await realpath(workDir), await realpath(path)),
    `outputs.${output.name}.path`,
  );
  const base = joinS3Uri(outputPrefix, 'outputs', output.name);
  const wanted = output.type === 'folder' ? info.isDirectory() : info.isFile();
  if (!wanted)
    throw new InvalidInputError(
      `output ${output.name} (${output.path}) is ` +
        `${info.isSymbolicLink() ? 'a symlink' : info.isDirectory() ? 'a folder' : 'not a regular file'}, declared as a ${output.type}`,
      { code: 'command-output-type', output: output.name },
    );
  if (output.type === 'file') {
    const put = await uploadFile(store, path, joinS3Uri(base, posix.basename(output.path.replace(/\/+$/, ''))), budget);
    return {
      uri: put.uri,
      sha256: put.sha256,
      bytes: put.size,
      files: 1,
      objects: [{ uri: put.uri, sha256: put.sha256 }],
    };
  }
  const listing = createHash('sha256');
  let bytes = 0;
  const files = await folderFiles(path, log);
  const objects: { uri: string; sha256: string }[] = [];
  for (const rel of files) {
    const put = await uploadFile(store, join(path, rel), joinS3Uri(base, rel), budget);
    listing.update(`${rel}\t${put.sha256}\n`);
    bytes += put.size;
    objects.push({ uri: put.uri, sha256: put.sha256 });
  }
  return { uri: asPrefixUri(base), sha256: listing.digest('hex'), bytes, files: files.length, objects };
}

export interface CommandResults {
  readonly values: JsonObject;
  readonly metrics: JsonObject;
}

/** The results file the program may write ($FINEFLOW_RESULTS): `{outputs?: {…}, metrics?: {name: number}}`. */
export async function readResults(path: string): Promise<CommandResults> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return { values: {}, metrics: {} };
  const where = '$FINEFLOW_RESULTS';
  if (!info.isFile())
    throw new InvalidInputError(`${where} is not a regular file (symlinks are not followed)`, {
      code: 'command-results',
    });
  if (info.size > MAX_RESULTS_BYTES)
    throw new ResourceLimitError(
      `${where} is ${info.size} bytes; at most ${MAX_RESULTS_BYTES}: write large results as a declared output and ` +
        `return its name`,
      { code: 'command-results' },
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InvalidInputError(`${where} is not JSON: ${(error as Error).message}`, { code: 'command-results' });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new InvalidInputError(`${where} must hold a JSON object {outputs, metrics}`, { code: 'command-results' });
  const { outputs = {}, metrics = {}, ...rest } = parsed as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new InvalidInputError(`${where}: unknown keys ${unknown.join(', ')}; it takes outputs and metrics`, {
      code: 'command-results',
    });
  for (const [key, value] of [
    ['outputs', outputs],
    ['metrics', metrics],
  ] as const)
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new InvalidInputError(`${where}: ${key} must be an object`, { code: 'command-results' });
  for (const [name, value] of Object.entries(metrics as object))
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new InvalidInputError(`${where}: metrics.${name} must be a finite number`, { code: 'command-results' });
  return { values: outputs as JsonObject, metrics: metrics as JsonObject };
}
