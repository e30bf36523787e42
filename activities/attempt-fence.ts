/**
 * The attempt fence: an attempt Temporal gave up on (its heartbeats stopped: a frozen worker, a partition) can run on
 * after the stage's retry started, and even after the retry finished. Without a fence it would write the stage's
 * outputs again, under the same keys the retry's result names: a half-rewritten dataset, a model from other weights.
 *
 * Each attempt claims the stage's outputs when it starts, in `<outputPrefix>@attempt.json`, by a conditional write
 * that no older attempt can win; every write and removal through the stage's store first checks that the claim is
 * still its own. A superseded attempt's write is refused before it reaches the store, the refusal is logged in that
 * attempt's own log, and the attempt ends as cancelled. Temporal no longer waits for it, so nothing of this reaches
 * the run. The check is a HEAD per write (a GET too when the claim changed); between that check and the write one
 * request's window is left, against a retry that must also have run its whole stage within it.
 */
import type { Context } from '@temporalio/activity';
import {
  CancelledError,
  ConflictError,
  InvalidInputError,
  NotFoundError,
  ResourceLimitError,
} from '../src/core/errors';
import type { ObjectStore } from '../src/storage/object-store';
import { STAGE_OWNER_FILE } from '../src/core/storage/layout';

/** The claim on a stage's outputs: which attempt (within the run) owns them, since when. */
export interface StageOwner {
  readonly attempt: number;
  readonly at: string;
}

/** Where the claim on the outputs under `outputPrefix` lives. */
export function stageOwnerUri(outputPrefix: string): string {
  return `${outputPrefix.endsWith('/') ? outputPrefix : `${outputPrefix}/`}${STAGE_OWNER_FILE}`;
}

/** A claim is a few dozen bytes; anything larger, or of another shape, owns nothing. */
const OWNER_MAX_BYTES = 4096;
/** Most read-check-write rounds of a claim while other attempts keep claiming in between. */
const CLAIM_ROUNDS = 5;

function checkStageOwner(value: unknown): StageOwner | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { attempt, at } = value as { attempt?: unknown; at?: unknown };
  if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) return undefined;
  return { attempt, at: typeof at === 'string' ? at.slice(0, 64) : '' };
}

/** The attempt newer than `attempt` that owns the outputs, if any: the pure rule of the fence. */
export function newerStageOwner(owner: StageOwner | undefined, attempt: number): number | undefined {
  return owner !== undefined && owner.attempt > attempt ? owner.attempt : undefined;
}

interface CurrentOwner {
  readonly etag?: string;
  readonly owner?: StageOwner;
}

async function currentOwner(store: ObjectStore, uri: string, known?: string): Promise<CurrentOwner> {
  // stat first: a claim replaced between the stat and the get fails the claim's condition, so no decision is made on
  // one claim and written over another.
  const info = await store.stat(uri);
  if (!info) return {};
  if (known !== undefined && info.etag === known) return { etag: info.etag };
  try {
    return { etag: info.etag, owner: checkStageOwner(await store.getJson(uri, { maxBytes: OWNER_MAX_BYTES })) };
  } catch (thrown) {
    if (thrown instanceof NotFoundError) return {};
    if (thrown instanceof InvalidInputError || thrown instanceof ResourceLimitError) return { etag: info.etag };
    throw thrown;
  }
}

/** What became of a claim: this attempt's now (with the etag of its claim), or a newer attempt's. */
export type StageClaim = { readonly owned: true; readonly etag: string } | { readonly owned: false; ownedBy: number };

/**
 * Claim the outputs under `outputPrefix` for `attempt`, unless a newer attempt holds them. Conditional on what was
 * read (S3 If-Match / If-None-Match), so a claim landing in between is read and judged again.
 */
export async function claimStageOutputs(
  store: ObjectStore,
  outputPrefix: string,
  attempt: number,
  now: () => Date = () => new Date(),
): Promise<StageClaim> {
  const uri = stageOwnerUri(outputPrefix);
  for (let round = 1; ; round += 1) {
    const current = await currentOwner(store, uri);
    const ownedBy = newerStageOwner(current.owner, attempt);
    if (ownedBy !== undefined) return { owned: false, ownedBy };
    try {
      const claim: StageOwner = { attempt, at: now().toISOString() };
      const written = await store.putJson(uri, claim, {
        condition: current.etag !== undefined ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
      });
      return { owned: true, etag: written.etag };
    } catch (thrown) {
      if (!(thrown instanceof ConflictError) || round >= CLAIM_ROUNDS) throw thrown;
    }
  }
}

/** The log line of a write a superseded attempt did not make. */
export function supersededWriteWords(what: string, attempt: number, ownedBy: number | undefined): string {
  const owner =
    ownedBy !== undefined ? `attempt ${ownedBy} of this stage owns its outputs now` : 'Temporal no longer waits for it';
  return (
    `attempt ${attempt} did not ${what}: ${owner} (Temporal gave up on attempt ${attempt} and retried the stage ` +
    `while this attempt ran on)`
  );
}

/**
 * What a process the attempt starts needs to fence its own writes with the attempt's claim: the training child opens
 * its own store and writes `model/` and `checkpoints/` itself (src/ml/train/training-worker.ts).
 */
export interface OutputsClaim {
  readonly outputPrefix: string;
  readonly attempt: number;
  /** The etag of this attempt's claim: a claim with another etag was written since. */
  readonly etag: string;
  /** A sweep trial segment's claim (./trial-fence.ts): `attempt` is the segment attempt's order, refusals name it. */
  readonly trialId?: number;
}

/** Checks, before a write, that this attempt still owns the stage's outputs; throws CancelledError when not. */
export interface AttemptFence {
  check(what: string): Promise<void>;
  /** This attempt's claim, for a child process to fence its writes with; refused (as `check`) once superseded. */
  claim(what: string): Promise<OutputsClaim>;
}

/** The ways the SDK tells an activity Temporal no longer waits for it (its heartbeat was refused). */
function supersededBySdk(context: Pick<Context, 'cancellationDetails'> | undefined): boolean {
  const details = context?.cancellationDetails;
  return Boolean(details?.notFound || details?.timedOut);
}

/**
 * The fence of one attempt, once its claim (from {@link claimStageOutputs}) settles: a claim a newer attempt won
 * refuses every write. `log` writes to the attempt's own log; the first refusal is logged, later ones only thrown.
 */
export function attemptFence(
  store: ObjectStore,
  outputPrefix: string,
  attempt: number,
  claimed: Promise<StageClaim>,
  options: {
    readonly log: (line: string) => void;
    readonly context?: Pick<Context, 'cancellationDetails'>;
    /** The refusal's words; default {@link supersededWriteWords} (a trial segment names its own: ./trial-fence.ts). */
    readonly words?: (what: string, ownedBy: number | undefined) => string;
  },
): AttemptFence {
  const uri = stageOwnerUri(outputPrefix);
  let refused = false;
  const refuse: (what: string, ownedBy: number | undefined) => never = (what, ownedBy) => {
    const line = options.words ? options.words(what, ownedBy) : supersededWriteWords(what, attempt, ownedBy);
    if (!refused) options.log(line);
    refused = true;
    throw new CancelledError(line, { code: 'superseded-attempt', attempt, ...(ownedBy ? { ownedBy } : {}) });
  };
  const check = async (what: string): Promise<string> => {
    const claim = await claimed;
    if (!claim.owned) refuse(what, claim.ownedBy);
    if (supersededBySdk(options.context)) refuse(what, undefined);
    const current = await currentOwner(store, uri, claim.etag);
    if (current.etag === claim.etag) return claim.etag;
    const ownedBy = newerStageOwner(current.owner, attempt);
    if (ownedBy !== undefined) refuse(what, ownedBy);
    return claim.etag;
  };
  return {
    async check(what) {
      await check(what);
    },
    async claim(what) {
      return { outputPrefix, attempt, etag: await check(what) };
    },
  };
}

/**
 * The fence of a claim handed to another process (the training child): the same rule, without the Temporal context
 * (the parent's stage runner hears Temporal; the child hears only the store).
 */
export function fenceOfClaim(
  store: ObjectStore,
  claim: OutputsClaim,
  log: (line: string) => void,
  words?: (what: string, ownedBy: number | undefined) => string,
): AttemptFence {
  const settled: StageClaim = { owned: true, etag: claim.etag };
  return attemptFence(store, claim.outputPrefix, claim.attempt, Promise.resolve(settled), {
    log,
    ...(words ? { words } : {}),
  });
}

/** `store` whose writes and removals each pass `fence` first; reads are untouched. */
export function fenceWrites(store: ObjectStore, fence: AttemptFence): ObjectStore {
  return {
    ...store,
    putStream: async (uri, body, options) => {
      await fence.check(`write ${uri}`);
      return store.putStream(uri, body, options);
    },
    putBytes: async (uri, body, options) => {
      await fence.check(`write ${uri}`);
      return store.putBytes(uri, body, options);
    },
    putJson: async (uri, value, options) => {
      await fence.check(`write ${uri}`);
      return store.putJson(uri, value, options);
    },
    remove: async (uri, options) => {
      await fence.check(`remove ${uri}`);
      return store.remove(uri, options);
    },
    removePrefix: async (uri) => {
      await fence.check(`remove ${uri}`);
      return store.removePrefix(uri);
    },
  };
}
