/**
 * Training checkpoints in the store: model weights (including batch-norm statistics), optimizer
 * state, the best weights so far, and the loop state (epoch, phase, history, early-stopping
 * counters). A checkpoint is a directory; `latest.json` beside them names the newest one and is
 * written last, so a crash mid-write leaves the previous checkpoint in force.
 *
 * Resume trusts the store, not a pointer: {@link newestVerifiedCheckpoint} lists the checkpoint
 * directories, newest first, and takes the first whose index names the same request and whose
 * parts hash to what the index recorded (a kill mid-write leaves a directory without an index,
 * or parts that do not match). `latest.json` and heartbeat details are hints only: heartbeats
 * are throttled, so the newest one that reached Temporal can name a checkpoint many epochs old.
 */
import { createHash } from 'node:crypto';
import { CorruptDataError, InvalidInputError, NotFoundError } from '../../core/errors';
import type { ObjectStore } from '../../storage/object-store';
import { asPrefix, joinUri } from '../uri';
import type { EpochMetrics } from './types';
import type { CheckpointSummary } from './checkpoint-summary';

export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

interface ArraySpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly length: number;
}

export interface LoopState {
  /** Epochs completed over all phases. */
  readonly epochsDone: number;
  readonly phaseIndex: number;
  /** Epochs completed in the current phase. */
  readonly epochsDoneInPhase: number;
  readonly history: readonly EpochMetrics[];
  readonly bestValue?: number;
  readonly bestEpoch?: number;
  readonly epochsWithoutImprovement: number;
  readonly stoppedEarly: boolean;
  /** Steps taken in the current phase (drives the learning-rate schedule). */
  readonly stepInPhase: number;
}

export interface Checkpoint {
  readonly state: LoopState;
  readonly weights: readonly NamedArray[];
  readonly optimizer: readonly NamedArray[];
  readonly bestWeights?: readonly NamedArray[];
  /** Fingerprint of the request, so a checkpoint is not resumed into a different run. */
  readonly requestKey: string;
}

function packArrays(arrays: readonly NamedArray[]): { specs: ArraySpec[]; bytes: Buffer } {
  const total = arrays.reduce((sum, array) => sum + array.values.length, 0);
  const bytes = Buffer.alloc(total * 4);
  const specs: ArraySpec[] = [];
  let offset = 0;
  for (const array of arrays) {
    for (let i = 0; i < array.values.length; i += 1) bytes.writeFloatLE(array.values[i] ?? 0, (offset + i) * 4);
    specs.push({ name: array.name, shape: array.shape, offset, length: array.values.length });
    offset += array.values.length;
  }
  return { specs, bytes };
}

function unpackArrays(specs: readonly ArraySpec[], bytes: Buffer): NamedArray[] {
  return specs.map((spec) => {
    const values = new Float32Array(spec.length);
    for (let i = 0; i < spec.length; i += 1) values[i] = bytes.readFloatLE((spec.offset + i) * 4);
    return { name: spec.name, shape: spec.shape, values };
  });
}

interface CheckpointIndex {
  readonly format: 'fineflow-checkpoint/v1';
  readonly requestKey: string;
  readonly state: LoopState;
  readonly parts: Readonly<Record<string, { readonly specs: readonly ArraySpec[]; readonly sha256: string }>>;
}

export function checkpointDirectory(prefixUri: string, epoch: number): string {
  return joinUri(prefixUri, `epoch-${String(epoch).padStart(4, '0')}`);
}

const CHECKPOINT_DIRECTORY = /\/epoch-(\d+)\/checkpoint\.json$/;

/** Epochs that have a checkpoint index under `prefixUri`, newest first. */
export async function listCheckpointEpochs(store: ObjectStore, prefixUri: string): Promise<number[]> {
  const objects = await store.list(asPrefix(prefixUri));
  const epochs = objects
    .map((object) => CHECKPOINT_DIRECTORY.exec(`/${object.key}`)?.[1])
    .filter((epoch): epoch is string => epoch !== undefined);
  return [...new Set(epochs.map(Number))].sort((a, b) => b - a);
}

/**
 * The loop state of the checkpoint in `directory` when it is complete, was written for
 * `requestKey`, and every part's bytes hash to what its index recorded; otherwise undefined.
 */
export async function verifyCheckpoint(
  store: ObjectStore,
  directory: string,
  requestKey: string,
): Promise<LoopState | undefined> {
  try {
    const index = await store.getJson<CheckpointIndex>(joinUri(directory, 'checkpoint.json'));
    if (index.format !== 'fineflow-checkpoint/v1' || index.requestKey !== requestKey) return undefined;
    for (const [name, part] of Object.entries(index.parts)) {
      const bytes = await store.getBytes(joinUri(directory, `${name}.bin`));
      if (createHash('sha256').update(bytes).digest('hex') !== part.sha256) return undefined;
    }
    return index.state;
  } catch (error) {
    // A missing or unparsable part is an unverified checkpoint; an unreachable store is not.
    if (
      error instanceof NotFoundError ||
      error instanceof CorruptDataError ||
      error instanceof InvalidInputError ||
      error instanceof SyntaxError
    )
      return undefined;
    throw error;
  }
}

export interface VerifiedCheckpoint {
  readonly directory: string;
  readonly state: LoopState;
}

/**
 * The newest checkpoint under `prefixUri` that {@link verifyCheckpoint} accepts, optionally
 * with an epoch in [minEpoch, maxEpoch]; `hint` (a checkpoint directory named by a heartbeat)
 * is only a further candidate, never preferred over a newer verified one.
 */
export async function newestVerifiedCheckpoint(
  store: ObjectStore,
  prefixUri: string,
  options: {
    readonly requestKey: string;
    readonly minEpoch?: number;
    readonly maxEpoch?: number;
    readonly hint?: string;
  },
): Promise<VerifiedCheckpoint | undefined> {
  const listed = (await listCheckpointEpochs(store, prefixUri)).map((epoch) => checkpointDirectory(prefixUri, epoch));
  const hinted =
    options.hint && !listed.includes(options.hint.replace(/\/+$/, '')) ? [options.hint.replace(/\/+$/, '')] : [];
  const epochOf = (directory: string): number => Number(/epoch-(\d+)$/.exec(directory)?.[1] ?? 0);
  const candidates = [...listed, ...hinted]
    .filter(
      (directory) =>
        epochOf(directory) >= (options.minEpoch ?? 0) &&
        epochOf(directory) <= (options.maxEpoch ?? Number.POSITIVE_INFINITY),
    )
    .sort((a, b) => epochOf(b) - epochOf(a));
  for (const directory of candidates) {
    const state = await verifyCheckpoint(store, directory, options.requestKey);
    if (state) return { directory, state };
  }
  return undefined;
}

/** The retention rule of `keepLast`: of `epochs` (newest first), the newest N and every epoch in `keep`. */
export function retainedEpochs(
  epochs: readonly number[],
  options: { readonly keepLast: number; readonly keep?: readonly number[] },
): Set<number> {
  return new Set([...epochs.slice(0, Math.max(1, options.keepLast)), ...(options.keep ?? [])]);
}

/**
 * Remove checkpoints under `prefixUri` beyond the newest `keepLast`, never one in `keep`
 * (the best epoch's, a segment boundary). Returns the removed directories.
 */
export async function pruneCheckpoints(
  store: ObjectStore,
  prefixUri: string,
  options: { readonly keepLast: number; readonly keep?: readonly number[] },
): Promise<string[]> {
  const epochs = await listCheckpointEpochs(store, prefixUri);
  const keep = retainedEpochs(epochs, options);
  const removed: string[] = [];
  for (const epoch of epochs) {
    if (keep.has(epoch)) continue;
    const directory = checkpointDirectory(prefixUri, epoch);
    // The index goes first: a half-removed checkpoint is then merely unverified, never resumed.
    await store.remove(joinUri(directory, 'checkpoint.json'));
    await store.removePrefix(asPrefix(directory));
    removed.push(directory);
  }
  return removed;
}

/** The log line of an attempt that resumes; {@link resumePointInLog} reads it back (the UI's stage panel). */
export function resumeLogLine(directory: string, epoch: number, why: string): string {
  return `resuming from checkpoint ${directory} at epoch ${epoch} (${why})`;
}

/**
 * Where an attempt resumed, from the first {@link resumeLogLine} in its log; undefined = it started from the
 * beginning.
 */
export function resumePointInLog(log: string): { readonly directory: string; readonly epoch: number } | undefined {
  const match = /resuming from checkpoint (s3:\/\/\S+) at epoch (\d{1,7}) \(/.exec(log);
  return match?.[1] && match[2] ? { directory: match[1], epoch: Number(match[2]) } : undefined;
}

export type { CheckpointSummary } from './checkpoint-summary';

export interface CheckpointInventory {
  readonly prefix: string;
  /** Newest first, at most `limit`. */
  readonly checkpoints: readonly CheckpointSummary[];
  /** More checkpoint directories than `limit` exist. */
  readonly truncated: boolean;
  /** What latest.json names (a hint: resume trusts the verified checkpoints, not it). */
  readonly latestEpoch?: number;
  /** The best epoch according to the newest verified checkpoint. */
  readonly bestEpoch?: number;
  /**
   * The checkpoint a retry of the same request resumes from: {@link newestVerifiedCheckpoint} for the
   * request of the newest verified checkpoint.
   */
  readonly resumeEpoch?: number;
}

/** A missing or unparsable object (the store answered): not an outage. */
function unreadable(error: unknown): boolean {
  return (
    error instanceof NotFoundError ||
    error instanceof CorruptDataError ||
    error instanceof InvalidInputError ||
    error instanceof SyntaxError
  );
}

async function summarize(
  store: ObjectStore,
  directory: string,
  epoch: number,
  objects: readonly { readonly size: number }[],
): Promise<CheckpointSummary> {
  const base = { epoch, directory, objects: objects.length, bytes: objects.reduce((sum, o) => sum + o.size, 0) };
  let index: CheckpointIndex;
  try {
    index = await store.getJson<CheckpointIndex>(joinUri(directory, 'checkpoint.json'));
  } catch (error) {
    if (unreadable(error)) return { ...base, verified: false };
    throw error;
  }
  const requestKey = typeof index.requestKey === 'string' ? index.requestKey : undefined;
  const state = requestKey ? await verifyCheckpoint(store, directory, requestKey) : undefined;
  const bestEpoch = index.state?.bestEpoch;
  return {
    ...base,
    verified: state !== undefined,
    ...(requestKey ? { requestKey } : {}),
    ...(typeof bestEpoch === 'number' ? { bestEpoch } : {}),
  };
}

/**
 * Every checkpoint under `prefixUri` (newest first, at most `limit`): size, whether it verifies, the
 * best epoch it recorded; the pointer in latest.json; and the one a retry would resume from.
 */
export async function checkpointInventory(
  store: ObjectStore,
  prefixUri: string,
  options: { readonly limit?: number } = {},
): Promise<CheckpointInventory> {
  const prefix = asPrefix(prefixUri);
  const objects = await store.list(prefix);
  const epochs = await listCheckpointEpochs(store, prefixUri);
  const limit = options.limit ?? 50;
  const checkpoints: CheckpointSummary[] = [];
  for (const epoch of epochs.slice(0, limit)) {
    const directory = checkpointDirectory(prefixUri, epoch);
    const inside = objects.filter((object) => `s3://${object.bucket}/${object.key}`.startsWith(`${directory}/`));
    checkpoints.push(await summarize(store, directory, epoch, inside));
  }
  const newest = checkpoints.find((checkpoint) => checkpoint.verified);
  const resume = newest?.requestKey
    ? await newestVerifiedCheckpoint(store, prefixUri, { requestKey: newest.requestKey })
    : undefined;
  const latest: { epoch?: unknown } = await store
    .getJson<{ epoch?: unknown }>(joinUri(prefixUri, 'latest.json'))
    .catch((error: unknown) => {
      if (unreadable(error)) return {};
      throw error;
    });
  return {
    prefix,
    checkpoints,
    truncated: epochs.length > limit,
    ...(typeof latest.epoch === 'number' ? { latestEpoch: latest.epoch } : {}),
    ...(newest?.bestEpoch !== undefined ? { bestEpoch: newest.bestEpoch } : {}),
    ...(resume ? { resumeEpoch: resume.state.epochsDone } : {}),
  };
}

export async function writeCheckpoint(store: ObjectStore, prefixUri: string, checkpoint: Checkpoint): Promise<string> {
  const directory = checkpointDirectory(prefixUri, checkpoint.state.epochsDone);
  const parts: Record<string, { specs: ArraySpec[]; sha256: string }> = {};
  const groups: [string, readonly NamedArray[] | undefined][] = [
    ['weights', checkpoint.weights],
    ['optimizer', checkpoint.optimizer],
    ['best-weights', checkpoint.bestWeights],
  ];
  for (const [name, arrays] of groups) {
    if (!arrays) continue;
    const { specs, bytes } = packArrays(arrays);
    await store.putBytes(joinUri(directory, `${name}.bin`), bytes, { contentType: 'application/octet-stream' });
    parts[name] = { specs, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  const index: CheckpointIndex = {
    format: 'fineflow-checkpoint/v1',
    requestKey: checkpoint.requestKey,
    state: checkpoint.state,
    parts,
  };
  await store.putJson(joinUri(directory, 'checkpoint.json'), index);
  await store.putJson(joinUri(prefixUri, 'latest.json'), { uri: directory, epoch: checkpoint.state.epochsDone });
  return directory;
}

/** A checkpoint directory, or a checkpoint prefix whose latest.json names one; undefined when there is none yet. */
export async function findCheckpoint(store: ObjectStore, uri: string): Promise<string | undefined> {
  if (await store.stat(joinUri(uri, 'checkpoint.json'))) return uri;
  const latestUri = joinUri(uri, 'latest.json');
  if (await store.stat(latestUri)) return (await store.getJson<{ uri: string }>(latestUri)).uri;
  return undefined;
}

export async function readCheckpoint(store: ObjectStore, directory: string): Promise<Checkpoint> {
  const index = await store.getJson<CheckpointIndex>(joinUri(directory, 'checkpoint.json'));
  if (index.format !== 'fineflow-checkpoint/v1')
    throw new InvalidInputError(`${directory} is not a Fineflow checkpoint`, { uri: directory });
  const read = async (name: string): Promise<NamedArray[] | undefined> => {
    const part = index.parts[name];
    if (!part) return undefined;
    const bytes = await store.getBytes(joinUri(directory, `${name}.bin`));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== part.sha256)
      throw new InvalidInputError(`checkpoint ${directory}/${name}.bin is corrupt (sha256 mismatch)`, {
        uri: directory,
      });
    return unpackArrays(part.specs, bytes);
  };
  const bestWeights = await read('best-weights');
  return {
    requestKey: index.requestKey,
    state: index.state,
    weights: (await read('weights')) ?? [],
    optimizer: (await read('optimizer')) ?? [],
    ...(bestWeights ? { bestWeights } : {}),
  };
}
