/**
 * The run page's stage panel names the training engine a stage ran on, as `fineflow status` does: `graph engine`,
 * or `eager engine` marked as a warning (the `auto` engine falls back to it when the graph addon is missing), and
 * nothing for a stage whose `engine` output is not one of Fineflow's two values (a pipeline's own stage).
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/stage-engine.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState } from '../../src/core/run/run-types';
import { manualRun, succeededStage } from './run-fixtures';
import { chartPage, usePageModule } from './web-page';

const web = usePageModule('./pages/stage-panel', ['StagePanel']);

function run(engine: unknown): RunState {
  return manualRun({
    runId: 'quickstart-20261206-080121-yn0l',
    startedAt: '2026-12-06T08:01:21.000Z',
    stages: [
      succeededStage(
        'finetune',
        'fine-tune',
        'train',
        { model: 's3://fineflow/runs/x/finetune/model/', engine: engine as string, backend: 'tensorflow' },
        { startedAt: '2026-12-06T08:01:25.000Z', endedAt: '2026-12-06T08:01:35.000Z' },
      ),
    ],
  });
}

/** The panel's facts for the stage, as `term: value [class] (title)`. */
async function facts(engine: unknown, colorScheme: 'light' | 'dark'): Promise<{ facts: string[]; color?: string }> {
  const page = await chartPage(web.browser, web.script, {
    body: '<div id="panel"></div>',
    colorScheme,
    viewport: { width: 1280, height: 800 },
  });
  try {
    return (await page.evaluate(
      (state: string) => {
        const w = globalThis as unknown as {
          StagePanel: new (runId: string, root: unknown) => { show(state: unknown, stageId: string): void };
          document: { getElementById(id: string): unknown; querySelectorAll(selector: string): ArrayLike<unknown> };
          getComputedStyle(element: unknown): { color: string };
        };
        new w.StagePanel('quickstart-20261206-080121-yn0l', w.document.getElementById('panel')).show(
          JSON.parse(state),
          'finetune',
        );
        type Node = { textContent: string | null; className: string; title: string; nextElementSibling: Node | null };
        const terms = Array.from(w.document.querySelectorAll('dl.facts dt') as ArrayLike<Node>);
        const engineValue = terms.find((dt) => dt.textContent === 'Engine')?.nextElementSibling;
        return {
          facts: terms.map((dt) => {
            const dd = dt.nextElementSibling;
            const extra = `${dd?.className ? ` [${dd.className}]` : ''}${dd?.title ? ` (${dd.title})` : ''}`;
            return `${dt.textContent ?? ''}: ${dd?.textContent ?? ''}${extra}`;
          }),
          ...(engineValue ? { color: w.getComputedStyle(engineValue).color } : {}),
        };
      },
      JSON.stringify(run(engine)),
    )) as { facts: string[]; color?: string };
  } finally {
    await page.context().close();
  }
}

test('the stage panel names the training engine, the eager one as a warning', async () => {
  const graph = await facts('graph', 'light');
  assert.ok(graph.facts.includes('Engine: graph engine'), graph.facts.join(' | '));
  for (const colorScheme of ['light', 'dark'] as const) {
    const eager = await facts('eager', colorScheme);
    const plain = await facts('graph', colorScheme);
    const line = eager.facts.find((fact) => fact.startsWith('Engine:'));
    assert.match(line ?? '', /^Engine: eager engine \[warning\] \(the graph addon was not used: see the stage log's/);
    assert.notEqual(eager.color, plain.color, `${colorScheme}: the eager engine is coloured as a warning`);
  }
  for (const other of ['tpu', 42, undefined]) {
    const custom = await facts(other, 'light');
    assert.equal(
      custom.facts.find((fact) => fact.startsWith('Engine:')),
      undefined,
      `engine output ${String(other)}`,
    );
  }
});
