/**
 * The training child's writes under the stage attempt's fence (activities/attempt-fence.ts). The child opens its own
 * store and writes the stage's `model/` and `checkpoints/` itself, outside the stage runner's fenced store: without
 * this, an attempt Temporal gave up on, woken after its retry finished, rewrote the retry's checkpoints and model.
 * The child checks the attempt's claim before each write and removal (a HEAD), and a refused write ends training with
 * the fence's CancelledError, which the parent's stage ends on. The refusal is logged once, by `log` (the child's
 * stderr, which the parent copies into the attempt's own log).
 */
import { fenceOfClaim, fenceWrites, type OutputsClaim } from '../../../activities/attempt-fence';
import { claimWords } from '../../../activities/trial-fence';
import type { ObjectStore } from '../../storage/object-store';

/** `store` with its writes fenced by `claim`; unchanged without one (a runner outside a stage attempt). */
export function fencedTrainingStore(
  store: ObjectStore,
  claim: OutputsClaim | undefined,
  log: (line: string) => void,
): ObjectStore {
  return claim ? fenceWrites(store, fenceOfClaim(store, claim, log, claimWords(claim))) : store;
}
