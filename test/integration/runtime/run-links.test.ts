/**
 * The link from the Temporal UI back to Fineflow: with FINEFLOW_UI_URL (RunClient `uiUrl`) a started
 * run's workflow carries its Fineflow page in its details (markdown the Temporal UI shows) and memo.
 * No worker polls the test's task queue: only what the start recorded is checked, then the run ends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { RunClient, runPageUrl } from '../../../src/client/run-client';
import { connectClient } from '../../../src/client/temporal-connection';
import { loadConfig } from '../../../src/config';
import { makePlan } from '../../fixtures/runtime/plans';
import { randomSuffix } from '../../fixtures/runtime/harness';
import { requireStack, stackConfig } from '../../helpers/stack';

let client: Client;
let bucket: string;
before(async () => {
  const config = await requireStack(stackConfig());
  bucket = config.s3.bucket;
  client = await connectClient(config.temporal);
});
after(() => client?.connection.close());

test('FINEFLOW_UI_URL: config validates it; a run links to its Fineflow page from the Temporal UI', async () => {
  assert.equal(loadConfig({ FINEFLOW_UI_URL: 'http://127.0.0.1:8090/' }).ui.url, 'http://127.0.0.1:8090');
  assert.throws(() => loadConfig({ FINEFLOW_UI_URL: 'ftp://x' }), /FINEFLOW_UI_URL=ftp:\/\/x must be an http\(s\) URL/);
  const queue = `no-worker-${randomSuffix()}`;
  const linked = new RunClient(client, { bucket, workflowTaskQueue: queue, uiUrl: 'http://ui.example:8090/' });
  const runId = await linked.submit(makePlan('linked', [{ id: 'a' }]));
  const plain = new RunClient(client, { bucket, workflowTaskQueue: queue });
  const unlinked = await plain.submit(makePlan('unlinked', [{ id: 'a' }]));
  try {
    const page = runPageUrl('http://ui.example:8090', runId);
    assert.equal(page, `http://ui.example:8090/#/runs/${runId}`);
    const described = await client.workflow.getHandle(runId).describe();
    assert.equal(described.memo?.fineflowUi, page);
    assert.equal(await described.staticDetails(), `[Open run ${runId} in Fineflow](${page})`);
    const other = await client.workflow.getHandle(unlinked).describe();
    assert.equal(other.memo?.fineflowUi, undefined);
    assert.equal(await other.staticDetails(), undefined);
  } finally {
    await client.workflow.getHandle(runId).terminate('test done');
    await client.workflow.getHandle(unlinked).terminate('test done');
  }
});
