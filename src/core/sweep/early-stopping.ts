/** Shared shape of an early-stopping decision. */
export interface StopDecision {
  /** True when the trial should end now. */
  readonly stop: boolean;
  /**
   * ASHA: the highest rung the trial has completed with this report (0-based), or -1 before
   * the first rung. Median rule: always -1.
   */
  readonly rung: number;
  /** Why, in one line for logs and the results table. */
  readonly reason: string;
}
