/**
 * A layered (Sugiyama-style) layout for large DAGs, left to right: rank = longest path from a
 * source (the plan's topological levels), order within a rank by barycenter sweeps, straight
 * coordinates. Linear-ish in nodes + edges per sweep.
 *
 * Why not dagre for everything: dagre's network-simplex ranking, crossing minimisation and
 * Brandes–Köpf placement take 4–10 s for the 500-stage, 1,000-edge run of `npm run bench -- --only
 * ui` (measured in Node on the shared machine), which is the whole page load. dagre still lays
 * out graphs up to LARGE_GRAPH nodes, where its routing reads better. Pure: unit-tested in Node.
 *
 * A long edge is routed as dagre routes one: through a slot of its own (a waypoint) in every rank it passes, ordered
 * with the nodes by the same sweeps, so it never passes behind a box (drawn straight, it did). The waypoints are the
 * routing's work and are bounded: at most WAYPOINT_BUDGET per node and edge, given to the shortest edges first; an
 * edge past the budget stays straight and is marked `over` (dag.ts draws it above the boxes, with a halo).
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
  readonly edges: readonly LaidEdge[];
}

export interface LaidEdge {
  readonly from: string;
  readonly to: string;
  readonly points: readonly Point[];
  /** Straight although it may cross boxes (past the layered layout's waypoint budget): drawn above them. */
  readonly over?: boolean;
}

/** Waypoints (one per rank a long edge passes) allowed per node and edge of the graph: the routing's bounded work. */
export const WAYPOINT_BUDGET = 4;

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

/** A waypoint's id: never a stage id (stage ids are names; this starts with a NUL). */
function waypointId(edge: number, rank: number): string {
  return `\u0000${edge}:${rank}`;
}

/**
 * The ranks with each long edge's waypoints added (shortest edges first, within the budget), and the graph's edges
 * split at them: what the ordering sweeps see.
 */
function withWaypoints(ranks: string[][], input: LayoutInput) {
  const rankOf = new Map<string, number>();
  ranks.forEach((rank, r) => rank.forEach((id) => rankOf.set(id, r)));
  const spans = input.edges.map((edge, index) => ({
    index,
    span: (rankOf.get(edge.to) ?? 0) - (rankOf.get(edge.from) ?? 0),
  }));
  let left = WAYPOINT_BUDGET * (input.nodes.length + input.edges.length);
  const routed = new Set<number>();
  for (const { index, span } of spans.filter((e) => e.span > 1).sort((a, b) => a.span - b.span)) {
    if (span - 1 > left) break;
    left -= span - 1;
    routed.add(index);
  }
  const split: { from: string; to: string }[] = [];
  input.edges.forEach((edge, index) => {
    if (!routed.has(index)) return split.push(edge);
    let from = edge.from;
    for (let r = (rankOf.get(edge.from) ?? 0) + 1; r < (rankOf.get(edge.to) ?? 0); r++) {
      const id = waypointId(index, r);
      ranks[r]?.push(id);
      split.push({ from, to: id });
      from = id;
    }
    return split.push({ from, to: edge.to });
  });
  return { routed, split, rankOf };
}

export function layeredLayout(input: LayoutInput): Layout & { readonly waypoints: number } {
  const ranks = ranksOf(input);
  const { routed, split, rankOf } = withWaypoints(ranks, input);
  orderRanks(ranks, { ...input, edges: split });
  const isNode = new Set(input.nodes.map((n) => n.id));
  // A waypoint takes a slot as high as the gap between two boxes; a node its box and that gap.
  const slot = (id: string): number => (isNode.has(id) ? input.nodeHeight : 0) + input.nodeGap;
  const heights = ranks.map((rank) => rank.reduce((sum, id) => sum + slot(id), 0));
  const tallest = Math.max(input.nodeHeight + input.nodeGap, ...heights);
  const stepX = input.nodeWidth + input.rankGap;
  const height = 2 * input.margin + tallest - input.nodeGap;
  const at = new Map<string, Point>();
  ranks.forEach((rank, r) => {
    // Each rank centred vertically on the tallest one.
    let top = input.margin + (tallest - (heights[r] ?? 0)) / 2;
    for (const id of rank) {
      at.set(id, { x: input.margin + r * stepX + input.nodeWidth / 2, y: top + (slot(id) - input.nodeGap) / 2 });
      top += slot(id);
    }
  });
  const nodes = new Map([...at].filter(([id]) => isNode.has(id)));
  const edges = input.edges.flatMap(({ from, to }, index): LaidEdge[] => {
    const a = nodes.get(from);
    const b = nodes.get(to);
    if (!a || !b) return [];
    const start = { x: a.x + input.nodeWidth / 2, y: a.y };
    const end = { x: b.x - input.nodeWidth / 2, y: b.y };
    if (!routed.has(index)) {
      const span = (rankOf.get(to) ?? 0) - (rankOf.get(from) ?? 0);
      return [{ from, to, points: [start, end], ...(span > 1 || span < 1 ? { over: true } : {}) }];
    }
    // Across each rank it passes, the edge runs level through its waypoint's slot.
    const through: Point[] = [];
    for (let r = (rankOf.get(from) ?? 0) + 1; r < (rankOf.get(to) ?? 0); r++) {
      const waypoint = at.get(waypointId(index, r));
      if (waypoint)
        through.push(
          { x: waypoint.x - input.nodeWidth / 2, y: waypoint.y },
          { x: waypoint.x + input.nodeWidth / 2, y: waypoint.y },
        );
    }
    return [{ from, to, points: [start, ...through, end] }];
  });
  return {
    width: 2 * input.margin + ranks.length * stepX - input.rankGap,
    height,
    nodes,
    edges,
    waypoints: [...routed].reduce((sum, index) => {
      const edge = input.edges[index];
      return sum + (edge ? (rankOf.get(edge.to) ?? 0) - (rankOf.get(edge.from) ?? 0) - 1 : 0);
    }, 0),
  };
}
