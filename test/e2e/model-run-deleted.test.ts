/**
 * A model version whose registering run Temporal no longer has, on the real stack (Temporal dev server, MinIO, the
 * pipeline run workflow and the production register-model stage): the run registers a version with an evaluation's
 * metrics, then its workflow is deleted, as Temporal deletes an ended run once the namespace's retention period has
 * passed (the same DeleteWorkflowExecution `temporal workflow delete` calls). The model page said
 * "the evaluation could not be read from run …: 5 NOT_FOUND: workflow execution not found …" under Metrics; it says
 * what happened and shows what the card still records, with the run named, not linked. 390 and 1280 px.
 *
 * Run with: bash scripts/test.sh integration --quick test/e2e/model-run-deleted.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { loadTf } from '../../src/ml/backend';
import { buildModel } from '../../src/ml/models/architectures';
import { saveModel } from '../../src/ml/models/load-model';
import type { RunningUi } from '../../src/ui/server';
import type { ModelMeasures } from '../../src/ui/web/model-measure-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../fixtures/runtime/harness';
import { launchBrowser, openPage, screenshot, startUiFor } from './helpers/ui-browser';
import { assertNoSideScroll } from '../browser/page-layout';
import { waitFor } from '../integration/schedules/harness';

const { tf } = loadTf({ preference: 'cpu' });
const name = `run-deleted-${randomSuffix()}`;
const METRICS = {
  accuracy: 0.9125,
  f1: 0.9071,
  count: 80,
  perClass: { ok: { precision: 0.95, recall: 0.875, f1: 0.911, support: 40 } },
};
let h: RuntimeHarness;
let ui: RunningUi;
let browser: Browser;

before(async () => {
  h = await startRuntimeHarness();
  ui = await startUiFor(h);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await ui?.close();
  await h?.close();
});

test(
  'a version whose registering run was deleted says so and shows the metrics its card records',
  { timeout: 300_000 },
  async () => {
    const model = buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 });
    const directory = `s3://${h.config.s3.bucket}/scratch-${name}/model`;
    await saveModel(tf, h.store, model, directory);
    model.dispose();
    const runId = await h.runs.submit(
      h.plan(name, [
        { id: 'register', uses: 'register-model', with: { model: `${directory}/model.json`, name, metrics: METRICS } },
      ]),
    );
    assert.equal((await h.runs.result(runId)).status, 'succeeded');
    const measures = async (): Promise<ModelMeasures> => {
      const response = await fetch(`${ui.url}/api/models/${name}/versions/1/measures`);
      assert.equal(response.status, 200);
      return (await response.json()) as ModelMeasures;
    };
    assert.equal((await measures()).runGone, undefined, 'while Temporal has the run, it is read');

    await h.client.workflowService.deleteWorkflowExecution({
      namespace: h.client.options.namespace,
      workflowExecution: { workflowId: runId },
    });
    // Temporal deletes in the background: the run is gone once describing it says so.
    await waitFor(
      `run ${runId} to be deleted`,
      () =>
        h.client.workflow
          .getHandle(runId)
          .describe()
          .then(
            () => false,
            (thrown: unknown) => thrown instanceof WorkflowNotFoundError,
          ),
      (gone) => gone,
      // On a loaded machine Temporal's deletion queue has taken over 30 s.
      180_000,
      500,
    );

    const gone = await measures();
    assert.equal(gone.runGone, runId);
    assert.match(gone.problem ?? '', new RegExp(`^Run ${runId} that registered this version is no longer in Temporal`));
    const kept = gone.sources.find((s) => s.kind === 'evaluation');
    assert.deepEqual(kept?.metrics, [
      ['accuracy', 0.9125],
      ['f1', 0.9071],
    ]);
    assert.equal(kept?.examples, 80);
    assert.deepEqual(kept?.perClass, [{ name: 'ok', precision: 0.95, recall: 0.875, f1: 0.911, support: 40 }]);

    for (const [width, colorScheme] of [
      [390, 'light'],
      [1280, 'dark'],
    ] as const) {
      const { page, errors } = await openPage(browser, colorScheme, { width, height: 900 });
      try {
        await page.goto(`${ui.url}/#/models/${name}`);
        const notice = page.locator('.measures-box p.run-gone');
        await notice.waitFor();
        assert.equal(await notice.textContent(), gone.problem);
        const box = page.locator('.measures-box');
        assert.doesNotMatch((await box.innerText()) ?? '', /NOT_FOUND|not found|Error/);
        const section = page.locator('section.measure[data-kind="evaluation"]');
        assert.equal(await section.locator('h4').textContent(), 'Evaluation: metrics the card records');
        assert.equal(
          (await section.locator('p.byline').innerText()).replace(/\s+/g, ' '),
          `recorded on the card by register stage register of run ${runId}, whose history is gone; 80 examples`,
        );
        assert.equal(await section.locator('p.byline a').count(), 0, 'no link to a run that is not there');
        assert.deepEqual(await section.locator('table.measures tbody th').allTextContents(), ['accuracy', 'f1']);
        // Nowhere on the page a link to the run (lineage box, "Produced by"): it would open a page saying "no run".
        await page.locator('p.produced-by', { hasText: 'whose history is gone' }).waitFor();
        assert.equal(await page.locator(`a[href^="#/runs/${runId}"]`).count(), 0);
        // No evaluate stage scored it, so the card records no gate verdict and the run cannot say: why, on hover.
        const gate = page.locator('tr[data-version="1"] td.gate .verdict');
        await gate.waitFor();
        assert.equal(await gate.textContent(), 'not recorded');
        assert.equal(await gate.getAttribute('title'), gone.problem);
        await screenshot(page, `model-run-deleted-${width}-${colorScheme}`);
        await assertNoSideScroll(page);
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    }
  },
);
