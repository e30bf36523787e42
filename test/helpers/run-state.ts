/**
 * Waiting on a run's state in tests on the real stack: polls the run client until the state satisfies the predicate,
 * and on time-out says what the state was last.
 */
import type { RunClient } from '../../src/client/run-client';
import type { RunState } from '../../src/core/run/run-types';

export interface RunStateWait {
  /** How long the predicate may take to hold. */
  readonly timeoutMs: number;
  /** The pause between two reads of the state. */
  readonly pollMs: number;
}

export async function waitForRunState(
  runs: Pick<RunClient, 'state'>,
  runId: string,
  predicate: (state: RunState) => boolean,
  { timeoutMs, pollMs }: RunStateWait,
): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await runs.state(runId);
    if (predicate(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last state ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
