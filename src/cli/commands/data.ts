/**
 * `fineflow data push|versions|diff|pull|ls`: datasets as immutable versions (src/datasets).
 *
 * A push streams every regular file under DIR to the prefix (memory flat in file size), creating
 * the bucket when needed (with S3 versioning on, so a version stays readable after its objects
 * are overwritten or deleted), then seals what the prefix holds into a dataset version and prints
 * its id: the sha256 of the sorted lines `<key relative to the prefix> <sha256>\n`. The id depends
 * only on the objects' relative keys and contents; the new-data watcher computes the same id for
 * the same bytes, so the id a push prints is the one on the run it triggers and on the model card.
 */
import type * as TextTableModule from '../../client/text-table';
import type * as RenderModule from '../../client/render';
import type * as AtomicOutputModule from '../atomic-output';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type * as ConfigModule from '../../config';
import type * as DatasetVersionModule from '../../datasets/dataset-version';
import type { DatasetVersionManifest } from '../../datasets/dataset-version';
import type * as VersionStoreModule from '../../datasets/version-store';
import type { VersionReadCounts } from '../../datasets/version-store';
import { InvalidInputError } from '../../core/errors';
import { forEachInFlight } from '../../core/in-flight';
import type * as MinioStoreModule from '../../storage/minio-store';
import type { BucketOptions, ObjectStore } from '../../storage/object-store';
import type * as BucketGuardModule from '../../storage/bucket-guard';
import { asPrefixUri, confineToPrefix, formatS3Uri, parseS3Uri } from '../../core/storage/uri';
import { firstSealTime, sealedByWords } from '../../core/datasets/sealed-by';
import { EXIT, UsageError, subcommandError, type CliCommand, type CliIo } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../client/render') as typeof RenderModule;
  const m1 = require('../../config') as typeof ConfigModule;
  const m2 = require('../../datasets/dataset-version') as typeof DatasetVersionModule;
  const m3 = require('../../datasets/version-store') as typeof VersionStoreModule;
  const m4 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const mt = require('../../client/text-table') as typeof TextTableModule;
  const ma = require('../atomic-output') as typeof AtomicOutputModule;
  const mb = require('../../storage/bucket-guard') as typeof BucketGuardModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    renderTable: mt.renderTable,
    formatBytes: m0.formatBytes,
    formatUtcTime: m0.formatUtcTime,
    loadConfig: m1.loadConfig,
    bucketCreation: mb.bucketCreation,
    diffDatasetVersions: m2.diffDatasetVersions,
    parseDatasetSource: m2.parseDatasetSource,
    relativeKey: m2.relativeKey,
    listDatasetVersions: m3.listDatasetVersions,
    countVersionReads: m3.countVersionReads,
    readDatasetVersion: m3.readDatasetVersion,
    readVersionedObject: m3.readVersionedObject,
    sealDatasetVersion: m3.sealDatasetVersion,
    createObjectStoreFromConfig: m4.createObjectStoreFromConfig,
    openAtomicOutput: ma.openAtomicOutput,
  };
}

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
  /** Id of the dataset version the prefix holds after the push (its manifest is in the store). */
  readonly version: string;
  /** Objects in that version (the pushed files plus any that were there before and not replaced). */
  readonly objects: number;
  /** With `deleteOthers`: keys that were under the prefix, not in the directory, and were deleted before sealing. */
  readonly deleted: readonly string[];
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

/** Files `data push` and `dev seed` stream at once: a folder of small images is round trips, not bytes. */
export const PUSH_FILES_IN_FLIGHT = 8;

/**
 * Streams a directory to a prefix, {@link PUSH_FILES_IN_FLIGHT} files at a time, and seals the prefix into a version
 * (manifest under `bucket`) once every file is in; progress lines go to `progress`, a line a file as each completes.
 * With `deleteOthers` the prefix is made to mirror the directory first: objects under it that the directory does not
 * have are deleted (a versioned bucket keeps them readable by earlier versions), so the version is the directory.
 */
export async function pushDirectory(
  store: ObjectStore,
  bucket: string,
  dir: string,
  prefixUri: string,
  progress: (line: string) => void,
  /** Whether the prefix's bucket may be created (the CLI's `bucketCreation`); default: created when missing. */
  creation: Pick<BucketOptions, 'refuseToCreate'> = {},
  /** Files streamed at once (the bench's one-at-a-time baseline sets 1). */
  inFlight: number = PUSH_FILES_IN_FLIGHT,
  options: { readonly deleteOthers?: boolean } = {},
): Promise<PushResult> {
  const { formatBytes, sealDatasetVersion } = load();
  const prefix = asPrefixUri(prefixUri);
  const paths = await listFilesRecursively(dir);
  // Validate every key before the first byte moves.
  const uris = paths.map((path) => formatS3Uri(confineToPrefix(path, prefix)));
  const sizes = await Promise.all(paths.map(async (path) => (await stat(join(dir, path))).size));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  await store.ensureBucket(parseS3Uri(prefix).bucket, { versioned: true, ...creation });
  const files: PushedFile[] = new Array<PushedFile>(paths.length);
  const moving = new Map<number, number>(); // bytes sent so far of each file in flight
  let done = 0;
  let completed = 0;
  let lastReport = 0;
  await forEachInFlight(paths, inFlight, async (path, index) => {
    const uri = uris[index] as string;
    const result = await store.putStream(uri, createReadStream(join(dir, path)), {
      onProgress: (bytes) => {
        moving.set(index, bytes);
        const now = Date.now();
        if (now - lastReport >= 1000) {
          lastReport = now;
          const sent = done + [...moving.values()].reduce((sum, part) => sum + part, 0);
          progress(`  ${path}: ${formatBytes(sent)} of ${formatBytes(total)}`);
        }
      },
    });
    moving.delete(index);
    done += result.size;
    files[index] = { path, uri: result.uri, size: result.size, sha256: result.sha256 };
    progress(`[${++completed}/${paths.length}] ${path} ${formatBytes(result.size)}`);
  });
  const deleted: string[] = [];
  if (options.deleteOthers === true) {
    const { relativeKey } = load();
    const pushed = new Set(paths);
    for (const info of await store.list(prefix)) {
      const key = relativeKey(prefix, formatS3Uri(info));
      if (key === undefined || key.endsWith('/') || pushed.has(key)) continue;
      await store.remove(formatS3Uri(info));
      deleted.push(key);
      progress(`deleted ${key}: not in ${dir}`);
    }
  }
  await store.ensureBucket(bucket);
  const manifest = await sealDatasetVersion(store, bucket, prefix, { createdBy: 'data push' });
  return { prefix, files, bytes: done, version: manifest.id, objects: manifest.count, deleted };
}

/** `s3://b/p/@<start of an id>`: at least this many hex characters name a version when only one starts with them. */
const SHORT_VERSION = /^(s3:\/\/.+?)@([0-9a-f]{6,63})$/;

/**
 * `s3://b/p/@<id>` → that version's manifest; usage error for an unpinned URI. The CLI also takes the start of an id
 * (6 or more of its hex characters, as `data diff` and `data versions` print 12) when exactly one recorded version of
 * the prefix starts with it; pipelines pin the whole id (src/datasets/dataset-source.ts).
 */
async function versionNamed(
  store: ObjectStore,
  bucket: string,
  ref: string,
  /** What the message starts with: `A: ` or `B: ` for diff, empty for pull (the CLI names the command). */
  what: string,
): Promise<DatasetVersionManifest> {
  const { parseDatasetSource, readDatasetVersion, listDatasetVersions } = load();
  const source = parseDatasetSource(ref);
  if (source.version) return readDatasetVersion(store, bucket, source.uri, source.version);
  const short = SHORT_VERSION.exec(ref);
  if (!short?.[1] || !short[2])
    throw new UsageError(
      `${what}name a version as s3://bucket/prefix/@<version>, the id or at least its first 6 characters ` +
        `(see \`fineflow data versions s3://bucket/prefix/\`), got ${ref}`,
    );
  const prefix = asPrefixUri(short[1]);
  const start = short[2];
  const matches = (await listDatasetVersions(store, bucket, prefix)).filter((version) => version.id.startsWith(start));
  const [only] = matches;
  if (only && matches.length === 1) return only; // listDatasetVersions read and checked it
  if (matches.length === 0)
    throw new UsageError(
      `${what}no version of ${prefix} starts with ${start} (see \`fineflow data versions ${prefix}\`)`,
    );
  const shown = matches.slice(0, 5).map((version) => version.id.slice(0, 16));
  throw new UsageError(
    `${what}${matches.length} versions of ${prefix} start with ${start} ` +
      `(${shown.join(', ')}${matches.length > shown.length ? ', …' : ''}): give more of the id`,
  );
}

/**
 * Writes every object of a version under `dir` (keys as relative paths), verifying each against the
 * manifest. Each file appears whole or not at all: a download cut or failing verification leaves no
 * partial file (and an existing file its old contents), so a retried pull never trusts a torn one.
 */
export async function pullDatasetVersion(
  store: ObjectStore,
  manifest: DatasetVersionManifest,
  dir: string,
  progress: (line: string) => void,
): Promise<number> {
  const { formatBytes, openAtomicOutput, readVersionedObject } = load();
  let bytes = 0;
  for (const [index, object] of manifest.objects.entries()) {
    const target = resolve(dir, ...object.key.split('/'));
    if (!target.startsWith(resolve(dir) + sep))
      throw new InvalidInputError(`key ${object.key} of version ${manifest.id} would be written outside ${dir}`, {
        code: 'outside-prefix',
        key: object.key,
      });
    await mkdir(dirname(target), { recursive: true });
    const output = await openAtomicOutput(target);
    try {
      await pipeline(await readVersionedObject(store, manifest, object), output.stream);
      await output.commit();
    } catch (thrown) {
      await output.abort();
      throw thrown;
    }
    bytes += object.size;
    progress(`[${index + 1}/${manifest.count}] ${object.key} ${formatBytes(object.size)}`);
  }
  return bytes;
}

function shortId(id: string): string {
  return id.slice(0, 12);
}

/**
 * `3 run stages (1 reading, 1 failed)`: who read a version, who is reading it still and whose read failed for a reason
 * other than its quality checks (by their records).
 */
function readersWords(counts: VersionReadCounts | undefined): string {
  if (!counts || counts.reads === 0) return '';
  const stages = `${counts.reads} run stage${counts.reads === 1 ? '' : 's'}`;
  const states = [
    ...(counts.reading > 0 ? [`${counts.reading} reading`] : []),
    ...(counts.failed > 0 ? [`${counts.failed} failed`] : []),
  ];
  return states.length > 0 ? `${stages} (${states.join(', ')})` : stages;
}

function writeVersions(
  io: CliIo,
  prefix: string,
  versions: readonly DatasetVersionManifest[],
  reads: ReadonlyMap<string, VersionReadCounts>,
  json: boolean,
): void {
  const { formatBytes, formatUtcTime } = load();
  if (json) {
    io.stdout.write(
      `${JSON.stringify(
        versions.map(({ objects: _objects, ...header }) => ({
          ...header,
          reads: reads.get(header.id) ?? { reads: 0, reading: 0, failed: 0 },
        })),
        null,
        2,
      )}\n`,
    );
    return;
  }
  const { renderTable } = load();
  const columns = [
    { title: 'version' },
    { title: 'sealed' },
    { title: 'objects', align: 'right' as const },
    { title: 'size', align: 'right' as const },
    { title: 'by' },
    { title: 'read by' },
  ];
  // By first seal, as shown (the store lists them by their last).
  const shown = [...versions].sort((a, b) => (firstSealTime(a) < firstSealTime(b) ? -1 : 1));
  const rows = shown.map((v) => [
    v.id,
    formatUtcTime(firstSealTime(v)),
    String(v.count),
    formatBytes(v.bytes),
    sealedByWords(v, formatUtcTime),
    readersWords(reads.get(v.id)),
  ]);
  if (rows.length > 0) io.stdout.write(`${renderTable(columns, rows).join('\n')}\n`);
  io.stderr.write(
    versions.length === 0
      ? `no versions of ${prefix} yet: \`fineflow data push DIR ${prefix}\` seals one (so does a run or a data ` +
          'watcher that reads the prefix)\n'
      : `${versions.length} ${versions.length === 1 ? 'version' : 'versions'} of ${prefix}; pin one in a pipeline ` +
          `with source: ${prefix}@<version>\n`,
  );
}

function writeDiff(io: CliIo, before: DatasetVersionManifest, after: DatasetVersionManifest, json: boolean): number {
  const { formatBytes, diffDatasetVersions } = load();
  const diff = diffDatasetVersions(before, after);
  if (json) {
    io.stdout.write(`${JSON.stringify({ from: before.id, to: after.id, ...diff }, null, 2)}\n`);
  } else {
    for (const o of diff.added) io.stdout.write(`+ ${o.key}  ${formatBytes(o.size)}\n`);
    for (const o of diff.removed) io.stdout.write(`- ${o.key}  ${formatBytes(o.size)}\n`);
    for (const c of diff.changed)
      io.stdout.write(
        `~ ${c.key}  ${formatBytes(c.before.size)} -> ${formatBytes(c.after.size)}  ` +
          `sha256 ${c.before.sha256.slice(0, 12)} -> ${c.after.sha256.slice(0, 12)}\n`,
      );
    io.stderr.write(
      `${shortId(before.id)} -> ${shortId(after.id)}: ${diff.added.length} added, ${diff.removed.length} removed, ` +
        `${diff.changed.length} changed, ${diff.unchanged} unchanged\n`,
    );
  }
  return EXIT.ok;
}

/** The configured store and bucket (versions, diff and pull read the configuration before their arguments). */
function configuredStore(io: CliIo): { readonly store: ObjectStore; readonly bucket: string } {
  const { loadConfig, createObjectStoreFromConfig } = load();
  const config = loadConfig(io.env);
  return { store: createObjectStoreFromConfig(config), bucket: config.s3.bucket };
}

/** `data push DIR s3://bucket/prefix/`: upload, seal a version, print its id. */
async function pushCommand(rest: readonly string[], io: CliIo, json: boolean, deleteOthers: boolean): Promise<number> {
  const { formatBytes, loadConfig, createObjectStoreFromConfig, bucketCreation } = load();
  const [dirArg, target, extra] = rest;
  if (!dirArg || !target || extra !== undefined) throw new UsageError('push takes DIR and s3://bucket/prefix/');
  const location = parseS3Uri(target);
  const dir = resolve(io.cwd, dirArg);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${dirArg} is not a directory`);
  const config = loadConfig(io.env);
  if (deleteOthers && location.key.replace(/\/+$/, '') === '')
    throw new UsageError(
      `--delete would delete every other object in bucket ${location.bucket}: push to the dataset's own prefix ` +
        `(s3://${location.bucket}/<name>/)`,
    );
  if (deleteOthers && location.bucket === config.s3.bucket)
    throw new UsageError(
      `--delete is for dataset buckets: ${location.bucket} is FINEFLOW_BUCKET, which holds runs, models and ` +
        'version manifests; push to a dataset bucket (FINEFLOW_DATASET_BUCKETS) or drop --delete',
    );
  const store = createObjectStoreFromConfig(config);
  const creation = bucketCreation(location.bucket, config.s3, target);
  const write = (line: string): void => void io.stderr.write(`${line}\n`);
  const result = await pushDirectory(store, config.s3.bucket, dir, target, write, creation, PUSH_FILES_IN_FLIGHT, {
    deleteOthers,
  });
  if (json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.ok;
  }
  const others = result.objects - result.files.length;
  const note =
    others > 0
      ? ` (the prefix holds ${others} other ${others === 1 ? 'object' : 'objects'} too: ` +
        'they are part of the version; --delete removes what DIR does not have)'
      : result.deleted.length > 0
        ? `; deleted ${result.deleted.length} ${result.deleted.length === 1 ? 'object' : 'objects'} DIR does not have`
        : '';
  io.stdout.write(
    `pushed ${result.files.length} files (${formatBytes(result.bytes)}) to ${result.prefix}${note}\n` +
      `version ${result.version}\n`,
  );
  return EXIT.ok;
}

/** `data versions s3://bucket/prefix/`: the recorded versions, oldest first. */
async function versionsCommand(rest: readonly string[], io: CliIo, json: boolean): Promise<number> {
  const { store, bucket } = configuredStore(io);
  const { parseDatasetSource, listDatasetVersions, countVersionReads } = load();
  const [target, extra] = rest;
  if (!target || extra !== undefined) throw new UsageError('versions takes one s3://bucket/prefix/');
  const prefix = asPrefixUri(parseDatasetSource(target).uri);
  const versions = await listDatasetVersions(store, bucket, prefix);
  writeVersions(io, prefix, versions, await countVersionReads(store, bucket, prefix), json);
  return EXIT.ok;
}

/** `data diff PREFIX@A B`: objects added, removed and changed between two versions. */
async function diffCommand(rest: readonly string[], io: CliIo, json: boolean): Promise<number> {
  const { store, bucket } = configuredStore(io);
  const [a, b, extra] = rest;
  if (!a || !b || extra !== undefined)
    throw new UsageError(
      'diff takes two versions: s3://bucket/prefix/@<A> and s3://bucket/prefix/@<B> (or a bare <B>)',
    );
  const before = await versionNamed(store, bucket, a, 'A: ');
  const after = await versionNamed(store, bucket, b.startsWith('s3://') ? b : `${before.prefix}@${b}`, 'B: ');
  return writeDiff(io, before, after, json);
}

/** `data pull PREFIX@VERSION DIR`: download a version, checking every object's sha256. */
async function pullCommand(rest: readonly string[], io: CliIo, json: boolean): Promise<number> {
  const { store, bucket } = configuredStore(io);
  const [ref, dirArg, extra] = rest;
  if (!ref || !dirArg || extra !== undefined) throw new UsageError('pull takes s3://bucket/prefix/@<version> and DIR');
  const manifest = await versionNamed(store, bucket, ref, '');
  const dir = resolve(io.cwd, dirArg);
  const bytes = await pullDatasetVersion(store, manifest, dir, (line) => io.stderr.write(`${line}\n`));
  if (json) {
    const pulled = { version: manifest.id, prefix: manifest.prefix, dir, objects: manifest.count, bytes };
    io.stdout.write(`${JSON.stringify(pulled, null, 2)}\n`);
  } else {
    const size = load().formatBytes(bytes);
    io.stdout.write(`pulled ${manifest.count} objects (${size}) of version ${manifest.id} to ${dir}\n`);
  }
  return EXIT.ok;
}

/** `data ls s3://bucket/prefix/`: the objects under a prefix (not a version: what is there now). */
async function lsCommand(rest: readonly string[], io: CliIo, json: boolean): Promise<number> {
  const { formatBytes, formatUtcTime, loadConfig, createObjectStoreFromConfig, renderTable } = load();
  const [target, extra] = rest;
  if (!target || extra !== undefined) throw new UsageError('ls takes one s3://bucket/prefix/');
  parseS3Uri(target);
  const store = createObjectStoreFromConfig(loadConfig(io.env));
  const objects = await store.list(target);
  if (json) {
    const listed = objects.map((o) => ({ ...o, uri: formatS3Uri(o), lastModified: o.lastModified.toISOString() }));
    io.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
    return EXIT.ok;
  }
  const columns = [{ title: 'size', align: 'right' as const }, { title: 'modified' }, { title: 'uri' }];
  const rows = objects.map((o) => [formatBytes(o.size), formatUtcTime(o.lastModified.toISOString()), formatS3Uri(o)]);
  if (rows.length > 0) io.stdout.write(`${renderTable(columns, rows).join('\n')}\n`);
  io.stderr.write(`${objects.length} objects, ${formatBytes(objects.reduce((sum, o) => sum + o.size, 0))}\n`);
  return EXIT.ok;
}

export const command: CliCommand = {
  name: 'data',
  summary: 'push data as an immutable dataset version; list, compare and pull versions',
  usage:
    'data push DIR s3://bucket/prefix/ [--delete] | versions s3://bucket/prefix/ | diff A B | pull s3://bucket/prefix/@V DIR | ' +
    'ls s3://bucket/prefix/',
  description: `push      streams every file under DIR to the prefix (keeping relative paths), creates the bucket if
          needed (S3 versioning on; only FINEFLOW_BUCKET or one of FINEFLOW_DATASET_BUCKETS, default datasets),
          seals what the prefix then holds into a dataset version and prints its id: sha256 over the sorted
          "<relative key> <sha256>" lines. The new-data watcher, the run it starts, prepare-data and the
          model card use the same id. Objects already under the prefix stay part of the version unless
          --delete removes those DIR does not have (earlier versions keep them: the bucket keeps object
          versions; refused on FINEFLOW_BUCKET and on a bucket's root).
versions  lists the recorded versions of a prefix, oldest first (pushed, seen by a watcher, or read by a run),
          and the run stages that read each one ("reading": a stage reading it now, by its record; if its run
          has ended, the read stopped unfinished; "failed": the stage failed before its checks could finish,
          e.g. an object it could not read or a cancel; \`fineflow logs RUN --stage S\` says why).
diff      compares two versions, A and B as s3://bucket/prefix/@<version> (B may be a bare id of the same
          prefix): + added, - removed, ~ changed objects. Here and in pull a version may be the start of
          its id (6 or more characters) when only one version of the prefix starts with it.
pull      writes every object of a version under DIR, checking each against the manifest's sha256.
ls        lists every object under the prefix now (size, time, URI).
Pin a version in a pipeline: prepare-data's source: s3://bucket/prefix/@<version>.
Connection: FINEFLOW_S3_ENDPOINT, FINEFLOW_S3_ACCESS_KEY, FINEFLOW_S3_SECRET_KEY, FINEFLOW_S3_REGION; manifests
live in FINEFLOW_BUCKET under datasets/<bucket>/<prefix>_versions/.`,
  subcommands: ['push', 'versions', 'diff', 'pull', 'ls'],
  examples: [
    {
      command: 'fineflow data push ./defects s3://datasets/defects/',
      explanation: 'upload a folder and seal it as a dataset version',
    },
    {
      command: 'fineflow data push --delete ./defects s3://datasets/defects/',
      explanation: 'the same, removing objects the folder no longer has, so the version is exactly the folder',
    },
    {
      command: 'fineflow data versions s3://datasets/defects/',
      explanation: 'the recorded versions of a prefix, oldest first',
    },
    {
      command: 'fineflow data diff s3://datasets/defects/@<A> <B>',
      explanation: 'objects added, removed and changed between two versions',
    },
    {
      command: 'fineflow data pull s3://datasets/defects/@<A> ./defects-a',
      explanation: "download a version, checking every object's sha256",
    },
  ],
  json: true,
  options: [
    {
      name: 'delete',
      kind: 'boolean',
      description: 'push: delete objects under the prefix that DIR does not have, so the version is exactly DIR',
    },
  ],
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    const json = args.flags.json === true;
    if (sub !== 'push' && args.flags.delete === true) throw new UsageError('--delete is an option of data push');
    if (sub === 'push') return pushCommand(rest, io, json, args.flags.delete === true);
    if (sub === 'versions') return versionsCommand(rest, io, json);
    if (sub === 'diff') return diffCommand(rest, io, json);
    if (sub === 'pull') return pullCommand(rest, io, json);
    if (sub === 'ls') return lsCommand(rest, io, json);
    throw subcommandError(sub, command.subcommands ?? []);
  },
};
