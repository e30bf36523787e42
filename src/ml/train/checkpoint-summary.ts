/**
 * A checkpoint as listed by `checkpointInventory` (checkpoint.ts). Types only, no imports: the UI's
 * browser code (src/ui/web) shares them.
 */
/** One checkpoint directory in the store, as the stage panel shows it. */
export interface CheckpointSummary {
  readonly epoch: number;
  readonly directory: string;
  readonly objects: number;
  readonly bytes: number;
  /** Complete, and every part hashes to what its index recorded ({@link verifyCheckpoint}). */
  readonly verified: boolean;
  /** The training request it was written for (a retry resumes only its own request's checkpoints). */
  readonly requestKey?: string;
  /** The best epoch the loop knew when it wrote this checkpoint. */
  readonly bestEpoch?: number;
}
