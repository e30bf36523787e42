/**
 * A layered (Sugiyama-style) layout for large DAGs, left to right: rank = longest path from a
 * source (the plan's topological levels), order within a rank by barycenter sweeps, straight
 * coordinates. Linear-ish in nodes + edges per sweep.
 *
 * Why not dagre for everything: dagre's network-simplex ranking, crossing minimisation and
 * Brandes–Köpf placement take 4–10 s for the 500-stage, 1,000-edge run of `npm run bench -- --only
 * ui` (measured in Node on the shared machine), which is the whole page load. dagre still lays
 * out graphs up to LARGE_GRAPH nodes, where its routing reads better. Pure: unit-tested in Node.
 */
import { topologicalLevels } from '../../core/spec/dag';

/** Above this many nodes the page uses this layout instead of dagre. */
export const LARGE_GRAPH = 150;

export interface LayoutInput {
  readonly nodes: readonly { readonly id: string }[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
  readonly nodeWidth: number;
  readonly nodeHeight: number;
  /** Gap between nodes of one rank (vertical) and between ranks (horizontal). */
  readonly nodeGap: number;
  readonly rankGap: number;
  readonly margin: number;
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  /** Centre of each node. */
  readonly nodes: ReadonlyMap<string, { readonly x: number; readonly y: number }>;
  /** Each edge from the source's right side to the target's left side. */
  readonly edges: readonly { readonly from: string; readonly to: string; readonly points: readonly Point[] }[];
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Barycenter sweeps (down then up each); more barely changes a layered DAG's crossings. */
const SWEEPS = 4;

function adjacency(edges: LayoutInput['edges'], key: 'from' | 'to', value: 'from' | 'to'): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const edge of edges) {
    const list = map.get(edge[key]);
    if (list) list.push(edge[value]);
    else map.set(edge[key], [edge[value]]);
  }
  return map;
}

function ranksOf(input: LayoutInput): string[][] {
  const needs = adjacency(input.edges, 'to', 'from');
  const { levels, blocked } = topologicalLevels(
    input.nodes.map((n) => n.id),
    needs,
  );
  // A cycle cannot come from a valid plan; its nodes still get drawn, in a last rank.
  return blocked.length > 0 ? [...levels.map((l) => [...l]), [...blocked]] : levels.map((l) => [...l]);
}

/** Reorder `rank` by the mean position of each node's neighbours in the adjacent rank. */
function reorder(rank: string[], neighbours: ReadonlyMap<string, string[]>, position: Map<string, number>): void {
  const weight = new Map<string, number>();
  for (const id of rank) {
    const around = (neighbours.get(id) ?? []).map((n) => position.get(n)).filter((p) => p !== undefined);
    weight.set(id, around.length > 0 ? around.reduce((a, b) => a + b, 0) / around.length : (position.get(id) ?? 0));
  }
  rank.sort((a, b) => (weight.get(a) ?? 0) - (weight.get(b) ?? 0));
  rank.forEach((id, index) => position.set(id, index));
}

function orderRanks(ranks: string[][], input: LayoutInput): void {
  const parents = adjacency(input.edges, 'to', 'from');
  const children = adjacency(input.edges, 'from', 'to');
  const position = new Map<string, number>();
  for (const rank of ranks) rank.forEach((id, index) => position.set(id, index));
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    for (let r = 1; r < ranks.length; r++) reorder(ranks[r] ?? [], parents, position);
    for (let r = ranks.length - 2; r >= 0; r--) reorder(ranks[r] ?? [], children, position);
  }
}

export function layeredLayout(input: LayoutInput): Layout {
  const ranks = ranksOf(input);
  orderRanks(ranks, input);
  const tallest = Math.max(1, ...ranks.map((r) => r.length));
  const step = { x: input.nodeWidth + input.rankGap, y: input.nodeHeight + input.nodeGap };
  const height = 2 * input.margin + tallest * step.y - input.nodeGap;
  const nodes = new Map<string, Point>();
  ranks.forEach((rank, r) => {
    // Each rank centred vertically on the tallest one.
    const top = input.margin + ((tallest - rank.length) * step.y) / 2;
    rank.forEach((id, i) => {
      nodes.set(id, { x: input.margin + r * step.x + input.nodeWidth / 2, y: top + i * step.y + input.nodeHeight / 2 });
    });
  });
  const edges = input.edges.flatMap(({ from, to }) => {
    const a = nodes.get(from);
    const b = nodes.get(to);
    if (!a || !b) return [];
    const start = { x: a.x + input.nodeWidth / 2, y: a.y };
    const end = { x: b.x - input.nodeWidth / 2, y: b.y };
    return [{ from, to, points: [start, end] }];
  });
  return { width: 2 * input.margin + ranks.length * step.x - input.rankGap, height, nodes, edges };
}
