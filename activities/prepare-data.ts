/**
 * Stage `prepare-data`: raw CSV, JSONL or an image folder in the store → a cleaned, stratified,
 * seeded train/validation/test split written as shards plus a manifest and a data report, under
 * `<outputPrefix>dataset/` (src/ml/data/prepare.ts does the streaming work; memory stays bounded
 * whatever the dataset's size). `limitPerClass` then keeps the first N training examples of
 * each class, streaming the training shards once more: the "small labelled set" setting.
 *
 * Progress: bytes of source data and records scanned / written.
 */
import { pinnedSourceProblem } from '../src/datasets/dataset-source';
import { fixedSourcesOf, splitFractionsOf, type FixedSplit } from '../src/datasets/split-sources';
import { pinnedDatasetStore, resolveDatasetSource, type DatasetPin } from '../src/datasets/version-store';
import { datasetManifestUri, type DatasetVersionManifest } from '../src/datasets/dataset-version';
import {
  putVersionRead,
  qualityVerdict,
  READ_ERROR_TYPE_CHARS,
  readErrorLine,
  removeVersionRead,
  versionReadUri,
  type VersionRead,
  type VersionReadCheck,
  type VersionReadFailed,
  type VersionReadRecord,
} from '../src/datasets/version-reads';
import { ApplicationFailure } from '@temporalio/common';
import {
  CancelledError,
  ensureError,
  ERROR_TYPES,
  FineflowError,
  InternalError,
  InvalidInputError,
} from '../src/core/errors';
import {
  prepareDataset,
  type DataReport,
  type PrepareDatasetOptions,
  type PrepareProgress,
} from '../src/ml/data/prepare';
import { ShardWriter, streamBatches, type DatasetManifest } from '../src/ml/data/shards';
import { qualityFailureOf, qualityPolicyOf } from '../src/ml/data/quality';
import type { JsonObject } from '../src/core/spec/plan-types';
import type { StageInputValues } from '../src/sdk/stage-io.generated';
import { originOf } from '../src/core/run/run-trigger';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';
import type { ObjectStore } from '../src/storage/object-store';
import { asPrefixUri, joinS3Uri } from '../src/core/storage/uri';
import type { StageImplementation, StageRuntime } from './stage-runner';
import { checkStageInputs, listStageArtifacts, toJsonValue } from './ml-stage-support';

const PIN_WORDS: Readonly<Record<DatasetPin, string>> = {
  pinned: 'pinned in the pipeline',
  trigger: 'the version that triggered this run',
  sealed: 'sealed from the prefix as it is now',
};

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The stage's inputs as src/ml's prepare options. */
export function prepareOptions(inputs: StageInputValues['prepare-data'], outputPrefix: string): PrepareDatasetOptions {
  const { source, format } = inputs;
  if (!source.startsWith('s3://')) {
    throw new InvalidInputError(
      `source ${source}: prepare-data reads raw data from the object store; push local files with \`fineflow data ` +
        `push DIR s3://bucket/prefix/\``,
      { field: 'source', source },
    );
  }
  const dotSegment = source
    .replace(/^s3:\/\/[^/]*/, '')
    .split('/')
    .find((segment) => segment === '..' || segment === '.');
  if (dotSegment !== undefined)
    throw new InvalidInputError(
      `source ${source}: a '${dotSegment}' segment is not allowed in a dataset path; name the prefix itself, e.g. ` +
        `s3://bucket/datasets/defects/`,
      { field: 'source', source },
    );
  const { split, clean, image, normalize } = inputs;
  const size = image?.size ?? [32, 32];
  return {
    source,
    format,
    ...(format === 'image-folder'
      ? {
          image: {
            size: [size[0] ?? 32, size[1] ?? 32],
            channels: image?.channels ?? 1,
            standardize: normalize,
            ...(image ? { background: backgroundOf(image.background) } : {}),
          },
        }
      : {}),
    ...(inputs.labelColumn !== undefined ? { labelColumn: inputs.labelColumn } : {}),
    ...(inputs.featureColumns ? { featureColumns: inputs.featureColumns } : {}),
    normalize,
    naValues: inputs.naValues,
    split: {
      ...splitFractionsOf(split ?? {}),
      stratify: split?.stratify ?? true,
      seed: split?.seed ?? 0,
      ...(split?.column !== undefined ? { column: split.column } : {}),
    },
    quality: qualityPolicyOf({
      // dropInvalid: false has always meant "stop at the first unreadable record".
      corruptFiles: clean?.dropInvalid === false ? 'fail' : 'warn',
      ...inputs.quality,
    }),
    ...(inputs.delimiter !== undefined ? { delimiter: inputs.delimiter === 'tab' ? '\t' : inputs.delimiter } : {}),
    clean: {
      dropDuplicates: clean?.dropDuplicates ?? true,
      dropInvalid: clean?.dropInvalid ?? true,
      missing: clean?.missing ?? 'impute',
    },
    shardSize: inputs.shardSize,
    outputPrefix: joinS3Uri(outputPrefix, 'dataset'),
  };
}

/** The first three channels of `image.background` (RGB). */
function backgroundOf(background: readonly number[]): [number, number, number] {
  return [background[0] ?? 255, background[1] ?? 255, background[2] ?? 255];
}

/**
 * Keep at most `perClass` training examples of each class (the first ones in the shards, whose
 * order prepare already shuffled with the split seed), rewriting the training split's shards.
 */
export async function limitTrainingPerClass(
  store: ObjectStore,
  manifest: DatasetManifest,
  manifestUri: string,
  perClass: number,
  shardSize: number,
): Promise<DatasetManifest> {
  const train = manifest.splits.train;
  if (train.classCounts.every((count) => count <= perClass)) return manifest;
  const length = manifest.featureShape.reduce((a, b) => a * b, 1);
  const directory = manifestUri.slice(0, manifestUri.lastIndexOf('/'));
  const writer = new ShardWriter(store, `${directory}/train-limited`, length, shardSize, manifest.classes.length);
  const kept = new Array<number>(manifest.classes.length).fill(0);
  // Raw features (no transform): the shards hold them that way; the manifest's transform applies on read.
  for await (const batch of streamBatches(store, manifest, 'train', { batchSize: 256, transform: false })) {
    for (let i = 0; i < batch.labels.length; i += 1) {
      const label = batch.labels[i] ?? 0;
      if ((kept[label] ?? 0) >= perClass) continue;
      kept[label] = (kept[label] ?? 0) + 1;
      await writer.add(batch.features.subarray(i * length, (i + 1) * length), label);
    }
  }
  const limited: DatasetManifest = { ...manifest, splits: { ...manifest.splits, train: await writer.finish() } };
  for (const shard of train.shards) await store.remove(shard.uri);
  await store.putJson(manifestUri, limited);
  return limited;
}

/** Every count of the data report in the stage log: quality checks, missing cells, image sizes, balance. */
function logDataSummary(runtime: StageRuntime, report: DataReport): void {
  for (const result of report.quality) {
    const first = result.examples[0];
    runtime.log(
      `quality ${result.check}: ${result.count} ` +
        `(${result.policy}${result.count > 0 ? `, ${result.outcome}` : ''})${first ? `; e.g. ${first.where}: ${first.reason}` : ''}`,
    );
  }
  const missing = Object.entries(report.missing).filter(([, count]) => count > 0);
  if (missing.length > 0)
    runtime.log(`missing cells: ${missing.map(([column, count]) => `${column} ${count}`).join(', ')}`);
  if (report.images) {
    const list = (counts: Readonly<Record<string, number>>): string =>
      Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([key, count]) => `${key} ${count}`)
        .join(', ');
    runtime.log(`image sizes: ${list(report.images.sizes)}; colour modes: ${list(report.images.modes)}`);
  }
  runtime.log(
    `classes: ${report.classes.map((c) => `${c.name} ${c.count} (${c.train}/${c.validation}/${c.test})`).join(', ')}; imbalance ${report.imbalanceRatio.toFixed(1)}; ${report.conflictingDuplicates} conflicting duplicate(s)`,
  );
}

function countsOf(manifest: DatasetManifest): JsonObject {
  const bySplit = (split: 'train' | 'validation' | 'test'): JsonObject =>
    Object.fromEntries(manifest.classes.map((name, label) => [name, manifest.splits[split].classCounts[label] ?? 0]));
  return {
    train: bySplit('train'),
    validation: bySplit('validation'),
    test: bySplit('test'),
    total: {
      train: manifest.splits.train.count,
      validation: manifest.splits.validation.count,
      test: manifest.splits.test.count,
    },
  };
}

/** The new-data trigger behind the run (through reruns), whose version a source under its path reads. */
export function newDataTrigger(
  trigger: StageActivityInput['context']['trigger'],
): { path: string; datasetVersion: string } | undefined {
  const origin = originOf(trigger);
  return origin?.kind === 'new-data' ? { path: origin.path, datasetVersion: origin.datasetVersion } : undefined;
}

export const prepareDataStage: StageImplementation = async (
  input: StageActivityInput,
  runtime: StageRuntime,
): Promise<StageActivityResult> => {
  const inputs = checkStageInputs('prepare-data', input.inputs);
  const pinProblem = pinnedSourceProblem(inputs.source);
  if (pinProblem) throw new InvalidInputError(`source ${inputs.source}: ${pinProblem}`, { field: 'source' });
  const { store, options, version, reads } = await pinSourcesRecorded(input, runtime, inputs);
  const startedAt = await recordReading(input, runtime, reads);
  try {
    return await prepareVersion(input, runtime, { inputs, store, options, version, reads, startedAt });
  } catch (thrown) {
    // Stopped by its quality checks: completed as a read with the failed verdict (prepareVersion). Any other failure
    // it sees (the store, a file it cannot parse, a cancel, the worker shutting down) completes the record too: left
    // `reading`, the page showed a reader that was not reading until the run ended.
    if (!qualityFailureOf(thrown)) await recordFailedRead(input, runtime, reads, startedAt, thrown);
    throw thrown;
  }
};

/** What prepare-data has once it has pinned its versions and recorded that it reads them. */
interface PinnedRead {
  readonly inputs: StageInputValues['prepare-data'];
  readonly store: ObjectStore;
  readonly options: PrepareDatasetOptions;
  readonly version: string;
  readonly reads: VersionsRead;
  readonly startedAt: string;
}

/** Read the pinned versions into the prepared dataset, and complete the read records with what the checks said. */
async function prepareVersion(
  input: StageActivityInput,
  runtime: StageRuntime,
  { inputs, store, options, version, reads, startedAt }: PinnedRead,
): Promise<StageActivityResult> {
  const sourceBytes = await announceSource(store, options, runtime);
  const prepared = await prepareDataset(store, options, progressReporter(runtime, sourceBytes)).catch(
    async (thrown: unknown) => {
      // Stopped by its quality checks: the version's page must show that this run read it, what failed and the data
      // report prepareDataset wrote before it threw.
      const failure = qualityFailureOf(thrown);
      if (failure)
        await recordRead(input, runtime, reads, {
          startedAt,
          ...(failure.report !== undefined ? { reportUri: failure.report } : {}),
          checks: failure.results,
          records: failure.counts?.records ?? 0,
          kept: failure.counts?.kept ?? 0,
          classes: failure.counts?.classes ?? 0,
        });
      throw thrown;
    },
  );
  const { limitPerClass } = inputs;
  const manifest =
    limitPerClass === undefined
      ? prepared.manifest
      : await limitPrepared(store, prepared, limitPerClass, options.shardSize ?? 1024, runtime);
  logPrepared(runtime, prepared.report, manifest);
  if (limitPerClass !== undefined) {
    await store.putJson(prepared.reportUri, {
      ...prepared.report,
      limitPerClass,
      splits: { ...prepared.report.splits, train: manifest.splits.train.count },
    });
  }
  const { report } = prepared;
  await recordRead(input, runtime, reads, {
    startedAt,
    reportUri: prepared.reportUri,
    checks: report.quality,
    records: report.records,
    kept: report.kept,
    classes: report.classes.length,
  });
  runtime.heartbeat({
    message: `prepared ${manifest.splits.train.count + manifest.splits.validation.count + manifest.splits.test.count} examples in ${manifest.classes.length} classes`,
    fraction: 1,
  });
  return {
    outputs: {
      dataset: prepared.manifestUri,
      report: prepared.reportUri,
      classes: [...manifest.classes],
      counts: toJsonValue(countsOf(manifest)) as JsonObject,
      datasetVersion: version,
    },
    artifacts: await listStageArtifacts(store, input.context.outputPrefix),
  };
}

/**
 * Pin the source and each fixed validation / test set to one dataset version, whatever is written to their
 * prefixes while this stage runs, and give the store that reads through those pins.
 */
async function pinSources(
  input: StageActivityInput,
  runtime: StageRuntime,
  inputs: StageInputValues['prepare-data'],
  beforeSeal: (manifest: DatasetVersionManifest) => Promise<void>,
): Promise<{ store: ObjectStore; options: PrepareDatasetOptions; version: string; reads: VersionsRead }> {
  const requested = prepareOptions(inputs, input.context.outputPrefix);
  if (!runtime.datasetVersions)
    throw new InternalError(
      'prepare-data ran without the dataset-version writer (activities/stage-runner.ts privilegedWriters)',
    );
  const versions = runtime.datasetVersions;
  const trigger = newDataTrigger(input.context.trigger);
  const pin = await resolveDatasetSource(versions, input.context.bucket, requested.source, trigger, beforeSeal);
  let store = pinnedDatasetStore(runtime.store, pin.manifest);
  runtime.log(
    `dataset version ${pin.manifest.id} of ${pin.manifest.prefix} (${PIN_WORDS[pin.how]}): ${pin.manifest.count} object(s)`,
  );
  const fixedSets: Partial<Record<FixedSplit, { source: string; version: string }>> = {};
  const reads: { prefix: string; version: string }[] = [{ prefix: pin.manifest.prefix, version: pin.manifest.id }];
  for (const [name, source] of Object.entries(fixedSourcesOf(inputs.split ?? {})) as [FixedSplit, string][]) {
    const fixedPin = await resolveDatasetSource(versions, input.context.bucket, source, trigger, beforeSeal);
    store = pinnedDatasetStore(store, fixedPin.manifest);
    fixedSets[name] = { source: fixedPin.source, version: fixedPin.manifest.id };
    reads.push({ prefix: fixedPin.manifest.prefix, version: fixedPin.manifest.id });
    runtime.log(
      `fixed ${name} set: dataset version ${fixedPin.manifest.id} of ${fixedPin.manifest.prefix} ` +
        `(${PIN_WORDS[fixedPin.how]}): ${fixedPin.manifest.count} object(s)`,
    );
  }
  const options: PrepareDatasetOptions = {
    ...requested,
    source: pin.source,
    sourceVersion: pin.manifest.id,
    ...(Object.keys(fixedSets).length > 0 ? { fixedSets } : {}),
  };
  return { store, options, version: pin.manifest.id, reads };
}

/** The versions a stage reads: its source's first, then its fixed validation / test sets'. */
type VersionsRead = readonly { readonly prefix: string; readonly version: string }[];

/**
 * Write `record` beside each version read, unless a newer attempt of the stage owns the record there (this one was
 * given up on by Temporal and kept running: what it writes now must not replace what the retry did). A refused or
 * failed write is logged (see {@link recordRead}).
 */
async function writeReadRecords(
  input: StageActivityInput,
  runtime: StageRuntime,
  reads: VersionsRead,
  record: VersionReadRecord & { readonly attempt: number },
): Promise<void> {
  const { runId, stageId, bucket } = input.context;
  if (!runtime.datasetVersions) return;
  for (const read of reads) {
    try {
      const uri = versionReadUri(bucket, read.prefix, read.version, runId, stageId);
      const written = await putVersionRead(runtime.datasetVersions, uri, record);
      if (!written.written)
        runtime.log(
          supersededWords(
            `record version ${read.version} as ${record.state ?? 'read'}`,
            record.attempt,
            written.ownedBy,
          ),
        );
    } catch (thrown) {
      runtime.log(`could not record that this run reads version ${read.version}: ${(thrown as Error).message}`);
    }
  }
}

/** The log line of a record write (or removal) refused because a newer attempt of the stage owns the record. */
function supersededWords(what: string, attempt: number, ownedBy: number): string {
  return (
    `attempt ${attempt} did not ${what}: attempt ${ownedBy} of this stage owns the record now (Temporal gave up on ` +
    `attempt ${attempt} and retried the stage while this attempt ran on)`
  );
}

/**
 * {@link pinSources}, recording the read of each version it seals before the version's manifest is written. A version
 * read unpinned is sealed now: once its manifest exists, gc sees it, and from the first record this run has under
 * the prefix gc keeps only the versions the run's records name (src/retention/gc-plan.ts rule 6). Recorded after the
 * manifest, a second stage of the run reading the same prefix (or a retry of this one) left its new version without a
 * record for as long as the record took to write; recorded first, gc never sees the version without it. A failure
 * after a record was written completes it as failed.
 */
async function pinSourcesRecorded(
  input: StageActivityInput,
  runtime: StageRuntime,
  inputs: StageInputValues['prepare-data'],
): ReturnType<typeof pinSources> {
  const { runId, stageId, attempt } = input.context;
  const sealed: { prefix: string; version: string }[] = [];
  const startedAt = new Date().toISOString();
  const beforeSeal = async (manifest: DatasetVersionManifest): Promise<void> => {
    const read = { prefix: manifest.prefix, version: manifest.id };
    sealed.push(read);
    const record = { state: 'reading', runId, stage: stageId, at: startedAt, attempt } as const;
    await writeReadRecords(input, runtime, [read], record);
  };
  try {
    return await pinSources(input, runtime, inputs, beforeSeal);
  } catch (thrown) {
    await endSealedReads(input, runtime, sealed, startedAt, thrown);
    throw thrown;
  }
}

/**
 * After pinning failed: a version whose manifest was written keeps its record, completed as failed; one whose
 * manifest never was (the write failed) loses the record it would have had, so none is left beside nothing.
 */
async function endSealedReads(
  input: StageActivityInput,
  runtime: StageRuntime,
  sealed: VersionsRead,
  startedAt: string,
  thrown: unknown,
): Promise<void> {
  const { bucket, runId, stageId, attempt } = input.context;
  const written: { prefix: string; version: string }[] = [];
  for (const read of sealed) {
    try {
      if (await runtime.datasetVersions?.stat(datasetManifestUri(bucket, read.prefix, read.version)))
        written.push(read);
      else if (runtime.datasetVersions) {
        const uri = versionReadUri(bucket, read.prefix, read.version, runId, stageId);
        const removed = await removeVersionRead(runtime.datasetVersions, uri, attempt);
        if (!removed.written)
          runtime.log(supersededWords(`remove the record of version ${read.version}`, attempt, removed.ownedBy));
      }
    } catch (error) {
      runtime.log(`could not end the record of version ${read.version}: ${(error as Error).message}`);
    }
  }
  if (written.length > 0) await recordFailedRead(input, runtime, written, startedAt, thrown);
}

/**
 * Before reading an object, record beside each version that this run's stage is reading it: gc keeps what open runs'
 * records name, and until this record exists it can only keep every version sealed since the run started. Returns
 * when the read started.
 */
async function recordReading(input: StageActivityInput, runtime: StageRuntime, reads: VersionsRead): Promise<string> {
  const at = new Date().toISOString();
  const { runId, stageId, attempt } = input.context;
  await writeReadRecords(input, runtime, reads, { state: 'reading', runId, stage: stageId, at, attempt });
  return at;
}

/**
 * Complete the records beside the versions read: this run's stage read them and what the quality checks said
 * (src/datasets/version-reads.ts: the datasets page lists a version's readers from it), when it finished or when its
 * checks stopped it. A record that cannot be written costs the page a line, not the run its data: logged, not thrown.
 */
async function recordRead(
  input: StageActivityInput,
  runtime: StageRuntime,
  reads: VersionsRead,
  found: {
    startedAt: string;
    reportUri?: string;
    checks: readonly Pick<VersionReadCheck, 'check' | 'outcome' | 'count'>[];
    records: number;
    kept: number;
    classes: number;
  },
): Promise<void> {
  const { runId, stageId, attempt } = input.context;
  const checks = found.checks.map(({ check, outcome, count }) => ({ check, outcome, count }));
  const record: VersionRead & { readonly attempt: number } = {
    state: 'read',
    runId,
    stage: stageId,
    at: new Date().toISOString(),
    startedAt: found.startedAt,
    attempt,
    ...(found.reportUri !== undefined ? { report: found.reportUri } : {}),
    verdict: qualityVerdict(checks),
    checks,
    records: found.records,
    kept: found.kept,
    classes: found.classes,
  };
  await writeReadRecords(input, runtime, reads, record);
}

/** What a failed read's record says when Temporal stopped the attempt, by the SDK's cancel reason. */
const STOPPED_WORDS: Readonly<Record<string, Pick<VersionReadFailed, 'errorType' | 'error'>>> = {
  WORKER_SHUTDOWN: {
    errorType: ERROR_TYPES.dependencyUnavailable,
    error: 'the worker shut down before the stage finished; the stage is retried on another worker',
  },
  TIMED_OUT: { errorType: ERROR_TYPES.cancelled, error: 'the attempt timed out (Temporal stopped it)' },
  NOT_FOUND: { errorType: ERROR_TYPES.cancelled, error: 'the run no longer waits for this attempt' },
};

/**
 * The error type and first line a failed read's record keeps: redacted as the log is, then bounded. An attempt that
 * was stopped (a cancel, the worker shutting down) says so, whatever the throw that ended the read looked like.
 */
export function readFailureOf(
  thrown: unknown,
  runtime: Pick<StageRuntime, 'redact' | 'signal'>,
): Pick<VersionReadFailed, 'errorType' | 'error'> {
  if (runtime.signal.aborted) {
    const reason: unknown = runtime.signal.reason;
    const why = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
    const known = STOPPED_WORDS[why];
    if (known) return known;
    const words = why && why !== 'CANCELLED' ? `the stage was cancelled: ${why}` : 'the stage was cancelled';
    return { errorType: ERROR_TYPES.cancelled, error: readErrorLine(runtime.redact(words)) };
  }
  const error = ensureError(thrown);
  const type =
    error instanceof FineflowError || error instanceof ApplicationFailure ? (error.type ?? error.name) : error.name;
  return {
    errorType: readErrorLine(type, READ_ERROR_TYPE_CHARS),
    error: readErrorLine(runtime.redact(error.message)) || '(no message)',
  };
}

/**
 * Complete the records beside the versions read as failed, for a reason other than the quality checks: the error's
 * type and first line (redacted, bounded; the stage log has the rest). Logged, not thrown, as {@link recordRead}.
 */
async function recordFailedRead(
  input: StageActivityInput,
  runtime: StageRuntime,
  reads: VersionsRead,
  startedAt: string,
  thrown: unknown,
): Promise<void> {
  const { runId, stageId, attempt } = input.context;
  const at = new Date().toISOString();
  const failure = readFailureOf(thrown, runtime);
  await writeReadRecords(input, runtime, reads, {
    state: 'failed',
    runId,
    stage: stageId,
    at,
    startedAt,
    attempt,
    ...failure,
  });
}

/** The objects of a csv/jsonl prefix that prepare-data does not read (by their key's ending), by base name. */
export function skippedObjects(keys: readonly string[], format: string): string[] {
  const endings = format === 'csv' ? ['.csv'] : format === 'jsonl' ? ['.jsonl', '.ndjson'] : [];
  if (endings.length === 0) return [];
  return keys
    .filter((key) => !endings.some((ending) => key.endsWith(ending)))
    .map((key) => key.slice(key.lastIndexOf('/') + 1));
}

/** Log and heartbeat how much the stage is about to read; returns the source's bytes. */
async function announceSource(
  store: ObjectStore,
  options: PrepareDatasetOptions,
  runtime: StageRuntime,
): Promise<number> {
  const objects =
    options.source.endsWith('.csv') || options.source.endsWith('.jsonl')
      ? [await store.stat(options.source)]
      : await store.list(asPrefixUri(options.source));
  const sourceBytes = objects.reduce((sum, object) => sum + (object?.size ?? 0), 0);
  const sourceFiles = objects.filter(Boolean).length;
  runtime.log(
    `reading ${sourceFiles} object(s), ${formatBytes(sourceBytes)}, from ${options.source} as ${options.format}`,
  );
  // csv/jsonl read only their own files: a README.txt beside the CSV was skipped without a word, and the line
  // above counted it as read.
  const skipped = skippedObjects(
    objects.flatMap((object) => (object ? [object.key] : [])),
    options.format,
  );
  if (skipped.length > 0)
    runtime.log(
      `skipped ${skipped.length} object(s) that are not ${options.format === 'csv' ? '.csv' : '.jsonl/.ndjson'}: ` +
        `${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}`,
    );
  runtime.heartbeat({
    message: `reading ${sourceFiles} files (${formatBytes(sourceBytes)})`,
    fraction: 0,
    detail: { files: sourceFiles, bytes: sourceBytes },
  });
  return sourceBytes;
}

/** prepareDataset's progress as heartbeats; a cancellation stops it (a throw from this callback). */
function progressReporter(runtime: StageRuntime, sourceBytes: number): (progress: PrepareProgress) => void {
  return (progress) => {
    // prepareDataset has no signal of its own: a throw from its progress callback stops it.
    if (runtime.signal.aborted) throw new CancelledError('prepare-data was cancelled', { records: progress.records });
    // Scan and write each cover every record once: the scan is the first half of the work.
    const fraction = progress.total ? 0.5 + (0.5 * progress.records) / progress.total : undefined;
    runtime.heartbeat({
      message:
        `${progress.pass === 'scan' ? 'scanned' : 'wrote'} ` +
        `${progress.records}${progress.total ? `/${progress.total}` : ''} records of ${formatBytes(sourceBytes)}`,
      ...(fraction !== undefined ? { fraction } : {}),
      detail: {
        pass: progress.pass,
        records: progress.records,
        ...(progress.total ? { total: progress.total } : {}),
        bytes: sourceBytes,
      },
    });
  };
}

/** `limitPerClass`: keep at most that many training examples per class (the manifest rewritten). */
async function limitPrepared(
  store: ObjectStore,
  prepared: Awaited<ReturnType<typeof prepareDataset>>,
  limitPerClass: number,
  shardSize: number,
  runtime: StageRuntime,
): Promise<DatasetManifest> {
  const manifest = await limitTrainingPerClass(
    store,
    prepared.manifest,
    prepared.manifestUri,
    limitPerClass,
    shardSize,
  );
  runtime.log(
    `limitPerClass ${limitPerClass}: kept ${manifest.splits.train.count} of ${prepared.manifest.splits.train.count} ` +
      `training examples`,
  );
  return manifest;
}

function logPrepared(runtime: StageRuntime, report: DataReport, manifest: DatasetManifest): void {
  runtime.log(
    `kept ${report.kept} of ${report.records} records (${report.duplicates} duplicates, ${report.quarantined.count} quarantined); ` +
      `splits train ${manifest.splits.train.count} / validation ${manifest.splits.validation.count} / test ${manifest.splits.test.count}; classes ${manifest.classes.join(', ')}`,
  );
  for (const quarantined of report.quarantined.examples.slice(0, 5))
    runtime.log(`quarantined ${quarantined.where}: ${quarantined.reason}`);
  logDataSummary(runtime, report);
}
