/**
 * The datasets page's reads: every dataset prefix with its versions, and one version's manifest, readers and
 * difference from the version before it. Read through the same modules as `fineflow data versions|diff`
 * (src/datasets), with every listing and read bounded: one listing of `datasets/` finds the manifests and their read
 * records (src/datasets/version-reads.ts), manifests are read up to a size, and only the newest versions of a prefix
 * are read at all.
 */
import { InvalidInputError, NotFoundError, ResourceLimitError } from '../core/errors';
import { forEachInFlight } from '../core/in-flight';
import { asPrefixUri, formatS3Uri, parseS3Uri } from '../core/storage/uri';
import {
  checkDatasetManifest,
  datasetManifestUri,
  datasetVersionsPrefix,
  diffDatasetVersions,
  isDatasetVersionId,
  parseDatasetVersionKey,
  type DatasetObject,
  type DatasetVersionManifest,
} from '../datasets/dataset-version';
import {
  checkVersionRead,
  isFailedRead,
  isReading,
  versionReadsPrefix,
  type VersionReadRecord,
} from '../datasets/version-reads';
import type { ObjectInfo, ObjectStore } from '../storage/object-store';
import { firstSealTime } from '../core/datasets/sealed-by';
import type { RunClient } from '../client/run-client';
import type {
  DatasetObjectView,
  DatasetReadView,
  DatasetVersionRow,
  DatasetVersionView,
  DatasetsView,
} from './web/dataset-types';

export const DATASET_LIMITS = {
  /** Objects of one listing of `datasets/` (manifests and read records together). */
  listing: 20_000,
  /** Dataset prefixes on the page. */
  datasets: 100,
  /** Versions of one prefix whose manifests the list reads (the newest; the rest counted). */
  versionsPerDataset: 20,
  /** Bytes of one manifest read (a version of ~100k objects). */
  manifestBytes: 32 * 1024 * 1024,
  /** Bytes of one read record. */
  readBytes: 64 * 1024,
  /** Objects of a manifest sent per page. */
  objectsPerPage: 200,
  /** Read records listed for one version, and read (the newest). */
  readsListed: 1_000,
  readsShown: 20,
  /** Objects of each kind (added, removed, changed) in a comparison. */
  compareShown: 100,
  /** Manifests written up to this long after a version's own may still have been sealed before it (clocks' skew). */
  clockTickMs: 1_000,
  /** Manifests read to find the version before one. */
  previousCandidates: 4,
  /** Reads of the store at once. */
  inFlight: 4,
} as const;

interface VersionEntry {
  readonly id: string;
  manifest?: ObjectInfo;
  reads: ObjectInfo[];
}

const newestFirst = (a: ObjectInfo, b: ObjectInfo): number =>
  b.lastModified.getTime() - a.lastModified.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function problemOf(thrown: unknown): string {
  if (thrown instanceof ResourceLimitError || thrown instanceof InvalidInputError) return thrown.message;
  throw thrown;
}

/** The listing of `prefix`, bounded; a missing bucket lists nothing. */
async function listBounded(store: ObjectStore, prefix: string, maxKeys: number): Promise<ObjectInfo[]> {
  try {
    return await store.list(prefix, { maxKeys });
  } catch (thrown) {
    if (thrown instanceof NotFoundError) return [];
    throw thrown;
  }
}

async function readManifest(store: ObjectStore, uri: string): Promise<DatasetVersionManifest> {
  return checkDatasetManifest(await store.getJson(uri, { maxBytes: DATASET_LIMITS.manifestBytes }), uri);
}

/**
 * Whether a run has ended (Temporal's answer; a run Temporal has no record of has ended too). A read record still
 * `reading` of an ended run never finished: the page says it stopped.
 */
export type RunEnded = (runId: string) => Promise<boolean>;

/**
 * {@link RunEnded} from Temporal: a run it has no record of has ended; when Temporal cannot answer, the record is
 * shown as it says (reading), never as stopped on a guess.
 */
export function runEndedIn(runs: Pick<RunClient, 'execution'>): RunEnded {
  return async (runId) => {
    try {
      return (await runs.execution(runId)).ended !== undefined;
    } catch (thrown) {
      return thrown instanceof InvalidInputError; // "no run X"
    }
  };
}

async function readView(read: VersionReadRecord, runEnded: RunEnded | undefined): Promise<DatasetReadView> {
  const { runId, stage, at } = read;
  if (isReading(read)) {
    const state = (await runEnded?.(runId)) ? 'stopped' : 'reading';
    return { runId, stage, at, state, hasReport: false, checks: [], records: 0, kept: 0, classes: 0 };
  }
  if (isFailedRead(read)) {
    const { error, errorType, attempt } = read;
    const failed = { state: 'failed' as const, error, errorType, attempt };
    return { runId, stage, at, ...failed, hasReport: false, checks: [], records: 0, kept: 0, classes: 0 };
  }
  const { verdict, checks, records, kept, classes } = read;
  const hasReport = read.report !== undefined;
  return { runId, stage, at, state: 'read', verdict, hasReport, checks, records, kept, classes };
}

/** Who sealed a version first and when, when its manifest records it. */
function firstSeal(manifest: DatasetVersionManifest): { firstSealedAt?: string; firstSealedBy?: string } {
  const { firstSealedAt, firstSealedBy } = manifest;
  return firstSealedAt !== undefined && firstSealedBy !== undefined ? { firstSealedAt, firstSealedBy } : {};
}

/** The newest read records among `listed`, read and checked (a record that is not one is left out). */
async function readRecords(
  store: ObjectStore,
  listed: readonly ObjectInfo[],
  shown: number,
): Promise<VersionReadRecord[]> {
  const reads: VersionReadRecord[] = [];
  await forEachInFlight([...listed].sort(newestFirst).slice(0, shown), DATASET_LIMITS.inFlight, async (info) => {
    const uri = formatS3Uri(info);
    try {
      reads.push(checkVersionRead(await store.getJson(uri, { maxBytes: DATASET_LIMITS.readBytes }), uri));
    } catch (thrown) {
      problemOf(thrown);
    }
  });
  return reads.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

async function versionRow(
  store: ObjectStore,
  entry: VersionEntry,
  runEnded: RunEnded | undefined,
): Promise<DatasetVersionRow> {
  const manifestInfo = entry.manifest as ObjectInfo;
  // Records written within a clock tick of the newest may be newer by their own time: read those (a few) too.
  const newestWritten = Math.max(0, ...entry.reads.map((info) => info.lastModified.getTime()));
  const recent = entry.reads.filter(
    (info) => info.lastModified.getTime() >= newestWritten - DATASET_LIMITS.clockTickMs,
  ).length;
  const [newest] = await readRecords(store, entry.reads, Math.min(Math.max(recent, 1), DATASET_LIMITS.inFlight));
  const view = newest ? await readView(newest, runEnded) : undefined;
  const common = {
    id: entry.id,
    reads: entry.reads.length,
    ...(view?.verdict ? { verdict: view.verdict } : {}),
    ...(view ? { readState: view.state } : {}),
  };
  try {
    const manifest = await readManifest(store, formatS3Uri(manifestInfo));
    const { createdAt, createdBy, count, bytes } = manifest;
    return { ...common, createdAt, createdBy, ...firstSeal(manifest), count, bytes };
  } catch (thrown) {
    return { ...common, createdAt: manifestInfo.lastModified.toISOString(), problem: problemOf(thrown) };
  }
}

/** Every dataset prefix with a recorded version, and its newest versions, newest first. */
export async function listDatasets(store: ObjectStore, bucket: string, runEnded?: RunEnded): Promise<DatasetsView> {
  const listed = await listBounded(store, formatS3Uri({ bucket, key: 'datasets/' }), DATASET_LIMITS.listing);
  const byPrefix = new Map<string, Map<string, VersionEntry>>();
  for (const info of listed) {
    const parsed = parseDatasetVersionKey(info.key);
    if (!parsed) continue;
    const { prefix, id, kind } = parsed;
    const versions = byPrefix.get(prefix) ?? new Map<string, VersionEntry>();
    byPrefix.set(prefix, versions);
    const entry = versions.get(id) ?? { id, reads: [] };
    versions.set(id, entry);
    if (kind === 'manifest') entry.manifest = info;
    else entry.reads.push(info);
  }
  const datasets = [...byPrefix.entries()]
    .map(([prefix, versions]) => ({
      prefix,
      sealed: [...versions.values()]
        .filter((v) => v.manifest)
        .sort((a, b) => newestFirst(a.manifest as ObjectInfo, b.manifest as ObjectInfo)),
    }))
    .filter((d) => d.sealed.length > 0)
    .sort((a, b) => newestFirst(a.sealed[0]?.manifest as ObjectInfo, b.sealed[0]?.manifest as ObjectInfo))
    .slice(0, DATASET_LIMITS.datasets);
  // One queue for every dataset's versions: the store sees at most `inFlight` reads at once, however many prefixes.
  const shown = datasets.map(({ sealed }) => sealed.slice(0, DATASET_LIMITS.versionsPerDataset));
  const rows = shown.map((entries) => new Array<DatasetVersionRow>(entries.length));
  const work = shown.flatMap((entries, d) => entries.map((entry, v) => ({ entry, d, v })));
  await forEachInFlight(work, DATASET_LIMITS.inFlight, async ({ entry, d, v }) => {
    (rows[d] as DatasetVersionRow[])[v] = await versionRow(store, entry, runEnded);
  });
  const views = datasets.map(({ prefix, sealed }, d) => ({
    prefix,
    // Newest first by when each was first sealed, the time the page shows (the listing's order is when each manifest
    // was last written).
    versions: (rows[d] as DatasetVersionRow[]).sort((a, b) => {
      const [first, second] = [firstSealTime(a), firstSealTime(b)];
      return first < second ? 1 : first > second ? -1 : 0;
    }),
    omitted: sealed.length - (shown[d] as VersionEntry[]).length,
  }));
  return {
    datasets: views,
    truncated: listed.length >= DATASET_LIMITS.listing || byPrefix.size > DATASET_LIMITS.datasets,
  };
}

function objectView({ key, size, sha256 }: DatasetObject): DatasetObjectView {
  return { key, size, sha256 };
}

/** A prefix from the page: an `s3://bucket/prefix/` URI (a bad one is the caller's input error). */
export function checkDatasetPrefix(value: string | null): string {
  if (!value) throw new InvalidInputError('a dataset needs its prefix, s3://bucket/prefix/', { field: 'prefix' });
  if (value.length > 1024) throw new InvalidInputError('the dataset prefix is longer than 1024 characters');
  parseS3Uri(value);
  return asPrefixUri(value);
}

/**
 * The version sealed last before `manifest` (by createdAt), or undefined for the first. The listing (bounded) orders
 * the manifests by when each was written, which is when it was sealed to within a clock's tick: the few written at
 * or before this one's time are read, and their createdAt decides.
 */
async function previousManifest(
  store: ObjectStore,
  bucket: string,
  manifest: DatasetVersionManifest,
  written: Date,
): Promise<DatasetVersionManifest | undefined> {
  const versionsPrefix = datasetVersionsPrefix(bucket, manifest.prefix);
  const base = parseS3Uri(versionsPrefix).key.length;
  const candidates = (await listBounded(store, versionsPrefix, DATASET_LIMITS.listing))
    .filter((info) => /^[0-9a-f]{64}\.json$/.test(info.key.slice(base)) && !info.key.endsWith(`/${manifest.id}.json`))
    .filter((info) => info.lastModified.getTime() <= written.getTime() + DATASET_LIMITS.clockTickMs)
    .sort(newestFirst)
    .slice(0, DATASET_LIMITS.previousCandidates);
  let previous: DatasetVersionManifest | undefined;
  for (const info of candidates) {
    const candidate = await readManifest(store, formatS3Uri(info));
    if (candidate.createdAt <= manifest.createdAt && (!previous || candidate.createdAt > previous.createdAt))
      previous = candidate;
  }
  return previous;
}

function compareWith(before: DatasetVersionManifest, after: DatasetVersionManifest): DatasetVersionView['compare'] {
  const diff = diffDatasetVersions(before, after);
  const shown = DATASET_LIMITS.compareShown;
  return {
    from: before.id,
    added: diff.added.slice(0, shown).map(objectView),
    removed: diff.removed.slice(0, shown).map(objectView),
    changed: diff.changed
      .slice(0, shown)
      .map((c) => ({ key: c.key, before: objectView(c.before), after: objectView(c.after) })),
    counts: {
      added: diff.added.length,
      removed: diff.removed.length,
      changed: diff.changed.length,
      unchanged: diff.unchanged,
    },
  };
}

/** One version: a page of its objects, the runs that read it, and what changed since the version before it. */
export async function datasetVersion(
  store: ObjectStore,
  bucket: string,
  prefixValue: string | null,
  idValue: string | null,
  offsetValue: string | null,
  runEnded?: RunEnded,
): Promise<DatasetVersionView> {
  const prefix = checkDatasetPrefix(prefixValue);
  const id = idValue ?? '';
  if (!isDatasetVersionId(id))
    throw new InvalidInputError(`dataset version ${JSON.stringify(id.slice(0, 80))} is not a version id`, {
      field: 'id',
    });
  const offset = Math.max(0, Math.floor(Number(offsetValue ?? 0) || 0));
  const uri = datasetManifestUri(bucket, prefix, id);
  const written = await store.stat(uri);
  if (!written)
    throw new InvalidInputError(`no version ${id} of ${prefix} is recorded`, { code: 'not-found', prefix, id });
  const manifest = await readManifest(store, uri);
  const readsListed = await listBounded(store, versionReadsPrefix(bucket, prefix, id), DATASET_LIMITS.readsListed);
  const reads = await readRecords(store, readsListed, DATASET_LIMITS.readsShown);
  let compare: Pick<DatasetVersionView, 'compare' | 'compareProblem'> = {};
  try {
    const previous = await previousManifest(store, bucket, manifest, written.lastModified);
    if (previous) compare = { compare: compareWith(previous, manifest) };
  } catch (thrown) {
    compare = { compareProblem: problemOf(thrown) };
  }
  return {
    prefix: manifest.prefix,
    id: manifest.id,
    createdAt: manifest.createdAt,
    createdBy: manifest.createdBy,
    ...firstSeal(manifest),
    count: manifest.count,
    bytes: manifest.bytes,
    offset,
    objects: manifest.objects.slice(offset, offset + DATASET_LIMITS.objectsPerPage).map(objectView),
    reads: await Promise.all(reads.map((read) => readView(read, runEnded))),
    readCount: readsListed.length,
    ...compare,
  };
}
