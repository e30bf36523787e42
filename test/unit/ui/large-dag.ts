/** Large DAGs for the layout tests (unit and browser): seeded, so every run draws the same graph. */
import type { GraphData } from '../../../src/ui/web/dag-layout';

export /** A seeded DAG of `count` stages: each needs one to three earlier stages, up to `reach` positions back. */
function randomDag(count: number, reach: number, seed: number): GraphData {
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
  const nodes = Array.from({ length: count }, (_, i) => ({ id: `s${i}`, uses: 'noop', pool: 'cpu' }));
  const edges: { from: string; to: string }[] = [];
  for (let i = 1; i < count; i++) {
    const needs = new Set<number>();
    const wanted = 1 + Math.floor(next() * 3);
    for (let k = 0; k < wanted; k++) needs.add(Math.max(0, i - 1 - Math.floor(next() * reach)));
    for (const from of needs) edges.push({ from: `s${from}`, to: `s${i}` });
  }
  return { nodes, edges };
}
