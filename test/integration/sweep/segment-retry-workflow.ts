/** Test workflow: one sweep trial segment, retried by Temporal with a short heartbeat timeout (segment-pin test). */
import { proxyActivities } from '@temporalio/workflow';
import type { SweepTrialActivities } from '../../../activities/sweep-trial';
import type { SweepTrialSegmentInput, SweepTrialSegmentResult } from '../../../src/core/sweep/sweep-types';

export async function sweepSegmentWithRetries(input: SweepTrialSegmentInput): Promise<SweepTrialSegmentResult> {
  const { sweepTrialSegment } = proxyActivities<SweepTrialActivities>({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '3 seconds',
    retry: { initialInterval: '100 ms', backoffCoefficient: 1, maximumAttempts: 4 },
  });
  return sweepTrialSegment(input);
}
