import type { TestContext } from 'node:test';
import { currentBackend, loadTf } from '../../../../src/ml/backend';
import { loadGraphAddon } from '../../../../src/ml/graph/tf-graph';

/** Why the graph engine cannot run here (no native binding, or the addon did not load); undefined when it can. */
export function graphEngineMissing(): string | undefined {
  if (currentBackend(loadTf({ preference: 'auto' }).tf) !== 'tensorflow') return 'the native binding is not built';
  return loadGraphAddon().error;
}

/** Skips `t` when the graph engine cannot run (the sweep bench trains with it only); true when skipped. */
export function skipWithoutGraph(t: TestContext, why = 'the sweep bench trains with the graph engine'): boolean {
  const reason = graphEngineMissing();
  if (reason !== undefined) t.skip(`${reason}; run npm run setup:tf (${why})`);
  return reason !== undefined;
}
