/**
 * Bounded run results and state pages (src/core/run/run-result.ts) and the client's page joining
 * (src/client/run-result.ts): what a 5,000-instance run returns and answers stays under a bound.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queryRunState } from '../../../src/client/run-result';
import {
  SUMMARY_ID_CAP,
  boundedStages,
  fitsInline,
  leafStageIds,
  stagePage,
  summarizeStages,
  type RunStatePage,
} from '../../../src/core/run/run-result';
import type { StageState } from '../../../src/core/run/run-types';
import { stageState as stage } from '../../fixtures/runtime/stage-states';

/** A fan-out `f` of `n` instances with URI outputs, then `last`, which needs it. */
function table(n: number): StageState[] {
  const uri = (i: number): string => `s3://fineflow/runs/r/f.${i}/model.json`;
  return [
    stage('f', { outputs: { model: Array.from({ length: n }, (_, i) => uri(i)) } }),
    ...Array.from({ length: n }, (_, i) => stage(`f.${i}`, { instanceOf: 'f', item: i, outputs: { model: uri(i) } })),
    stage('last', { outputs: { model: uri(0) } }),
  ];
}

void describe('bounded run results', () => {
  void it('counts every stage by state and caps the listed ids', () => {
    const stages = [
      ...Array.from({ length: 30 }, (_, i) => stage(`x.${i}`, { status: 'failed' })),
      stage('w', { status: 'waiting' }),
      stage('c', { status: 'cancelled' }),
      stage('ok'),
    ];
    const summary = summarizeStages(stages);
    assert.equal(summary.stageCount, 33);
    assert.deepEqual(summary.counts, { failed: 30, waiting: 1, cancelled: 1, succeeded: 1 });
    assert.equal(summary.failed.length, SUMMARY_ID_CAP);
    assert.equal(summary.failed[0], 'x.0');
    assert.deepEqual(summary.cancelled, ['c']);
  });

  void it('leaves instances out, then outputs of non-leaf stages, largest first, before a leaf', () => {
    const stages = table(2_000);
    assert.equal(fitsInline(stages, 64 * 1024), false);
    const plan = {
      stages: [
        { id: 'f', needs: [] },
        { id: 'last', needs: ['f'] },
      ],
    } as never;
    assert.deepEqual([...leafStageIds(plan)], ['last']);
    const cut = boundedStages(stages, leafStageIds(plan), 64 * 1024);
    assert.deepEqual(
      cut.stages.map((s) => s.id),
      ['f', 'last'],
    );
    assert.deepEqual(cut.omitted, { instances: 2_000, outputs: ['f'], stages: 0 });
    assert.equal(cut.stages[0]?.outputs, undefined);
    assert.deepEqual(cut.stages[1]?.outputs, stages.at(-1)?.outputs, 'the leaf keeps its outputs');
    assert.ok(JSON.stringify(cut.stages).length <= 64 * 1024);
  });

  void it('keeps outputs that fit, and cuts the stage list only as a last resort', () => {
    const small = boundedStages(table(10), new Set(['last']), 64 * 1024);
    assert.deepEqual(small.omitted, { instances: 10, outputs: [], stages: 0 });
    const many = Array.from({ length: 1_000 }, (_, i) => stage(`s${i}`, { reason: 'x'.repeat(200) }));
    const cut = boundedStages(many, new Set(), 32 * 1024);
    assert.ok(JSON.stringify(cut.stages).length <= 32 * 1024);
    assert.equal(cut.stages.length + cut.omitted.stages, 1_000);
    assert.ok(cut.omitted.stages > 0);
  });

  void it('pages the table under the character bound, every stage once, whatever its size', () => {
    const stages = table(5_000);
    const pages: StageState[][] = [];
    let after: string | undefined;
    do {
      const page = stagePage(stages, after, 64 * 1024);
      pages.push([...page.stages]);
      after = page.next;
    } while (after !== undefined);
    assert.ok(pages.length > 5);
    assert.deepEqual(
      pages.flat().map((s) => s.id),
      stages.map((s) => s.id),
    );
    // The fan-out stage alone is larger than a page: it gets a page of its own.
    assert.equal(pages[0]?.length, 1);
    for (const page of pages.slice(1)) assert.ok(JSON.stringify(page).length <= 64 * 1024);
  });

  void it('joins the pages of the runState query; reads again when a fan-out expanded before the cursor', async () => {
    const base = { runId: 'r', pipeline: 'p', status: 'running' as const, trigger: { kind: 'manual' as const } };
    const state = { ...base, startedAt: '2026-12-05T00:00:00.000Z', params: {} };
    let stages = [stage('a', { status: 'running' }), stage('b'), stage('c', { status: 'pending' })];
    let asked = 0;
    const query = async (request?: { after: string }): Promise<RunStatePage> => {
      asked++;
      // Once `a` was listed, it expands into two instances, listed right after it: before the cursor.
      if (asked === 2)
        stages = [
          stages[0],
          stage('a.0', { instanceOf: 'a' }),
          stage('a.1', { instanceOf: 'a' }),
          ...stages.slice(1),
        ] as StageState[];
      const page = stagePage(stages, request?.after, 120);
      return {
        ...state,
        stages: page.stages,
        page: { total: stages.length, ...(page.next ? { next: page.next } : {}) },
      };
    };
    const read = await queryRunState(query);
    assert.deepEqual(
      read.stages.map((s) => s.id),
      ['a', 'a.0', 'a.1', 'b', 'c'],
    );
    assert.equal('page' in read, false);
    assert.ok(asked > 3, 'read a second time');
    // A worker from before paging answers with every stage and no page.
    const old = await queryRunState(async () => ({ ...state, stages }));
    assert.equal(old.stages.length, 5);
  });
});
