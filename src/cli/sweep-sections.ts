/**
 * The sweep trial tables drawn under the stage table by `status --watch` and `submit --watch`
 * (src/cli/run-support.ts `followRun`), one per hyperparameter-sweep stage that has trials; the stage table's
 * progress lines count trials as these tables do (a trial whose worker died is `retrying`).
 */
import type { FollowOptions } from './run-support';
import type { RunClient } from '../client/run-client';
import type { FineflowConfig } from '../config';
import { renderTrialTable } from '../client/sweep-trial-table';
import { sweepTrialTables, withTrialCounts } from '../client/sweep-trials-lookup';
import { createObjectStoreFromConfig } from '../storage/minio-store';

/** Trial tables stay readable in a 100-column terminal. */
export const TRIAL_TABLE_MAX_WIDTH = 100;

export function sweepSections(runs: RunClient, config: FineflowConfig): NonNullable<FollowOptions['sections']> {
  const store = createObjectStoreFromConfig(config);
  return async (state, width) => {
    const tables = await sweepTrialTables(runs.client, store, config.s3.bucket, state);
    return {
      lines: tables.map((table) => renderTrialTable(table, Math.min(width, TRIAL_TABLE_MAX_WIDTH))),
      restate: (shown) => withTrialCounts(shown, tables),
    };
  };
}
