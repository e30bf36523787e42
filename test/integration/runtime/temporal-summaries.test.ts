/**
 * What the Temporal UI shows for a run: each stage activity's summary (stage id, type, pool) in
 * its scheduled event, and the stage table as the workflow's current details.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { decodeHistoryPayload } from '../../../src/client/temporal-connection';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';

let h: RuntimeHarness;
before(async () => {
  h = await startRuntimeHarness();
});
after(async () => {
  await h?.close();
});

test('stage activities carry a summary and the run publishes its stage table as current details', async () => {
  const plan = h.plan('summaries', [{ id: 'first' }, { id: 'second', needs: ['first'] }]);
  const runId = await h.runs.submit(plan);
  assert.equal((await h.runs.result(runId)).status, 'succeeded');
  const handle = h.client.workflow.getHandle(runId);
  const history = await handle.fetchHistory();
  const payloads = (history.events ?? [])
    .map((event) => event.userMetadata?.summary)
    .filter((payload) => payload !== undefined && payload !== null);
  const summaries = await Promise.all(payloads.map((payload) => decodeHistoryPayload(h.client, payload)));
  assert.deepEqual(summaries, [`first · test-echo · pool ${h.pools.cpu}`, `second · test-echo · pool ${h.pools.cpu}`]);
  const metadata = await handle.query(workflowMetadataQuery);
  assert.match(metadata.currentDetails ?? '', /\*\*run succeeded\*\*/);
  assert.match(metadata.currentDetails ?? '', /\| second \| test-echo \| [^|]+ \| succeeded \| 1 \|/);
});
