/**
 * Where the DAG's stages and edges go (dagre; layered-layout.ts for large graphs), apart from drawing them (dag.ts):
 * pure, so the layout of the example pipelines is unit-tested in Node.
 */
import dagre, { type Edge } from '@dagrejs/dagre';
import { routeEdges } from './edge-routing';
import { LARGE_GRAPH, layeredLayout, type Layout, type Point } from './layered-layout';

export interface GraphNode {
  readonly id: string;
  readonly uses: string;
  readonly pool: string;
  /** The stage writes training checkpoints (its panel lists them). */
  readonly checkpoints?: boolean;
}

export interface GraphData {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

export const NODE_WIDTH = 188;
export const NODE_HEIGHT = 46;
/**
 * Room on every side of what the drawing holds: enough for the widest thing drawn past a box or an edge's end (a
 * selected node's 3.5 px border and 3 px glow; an arrow head, 7 × the 1.4 px edge stroke, about the end).
 */
export const DRAWING_PAD = 8;

/** dagre for ordinary pipelines (its edge routing reads better); the layered layout for large ones. */
export function layoutOf(graph: GraphData): Layout {
  const size = { width: NODE_WIDTH, height: NODE_HEIGHT };
  const gaps = { nodeWidth: NODE_WIDTH, nodeHeight: NODE_HEIGHT, nodeGap: 18, rankGap: 46, margin: DRAWING_PAD };
  if (graph.nodes.length > LARGE_GRAPH)
    return containDrawing(layeredLayout({ ...gaps, nodes: graph.nodes, edges: graph.edges }), size);
  const layout = new dagre.graphlib.Graph();
  layout.setGraph({ rankdir: 'LR', nodesep: gaps.nodeGap, ranksep: gaps.rankGap, marginx: 8, marginy: 8 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) layout.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of graph.edges) layout.setEdge(edge.from, edge.to);
  dagre.layout(layout);
  const drawn = layout.graph();
  // dagre's edges may end on a box's top or bottom, or (in line with other nodes) pass behind a box they cross.
  const routed = routeEdges(
    {
      width: drawn.width ?? 0,
      height: drawn.height ?? 0,
      nodes: new Map(graph.nodes.map((node) => [node.id, layout.node(node.id)])),
      edges: layout.edges().map((edge: Edge) => ({ from: edge.v, to: edge.w, points: layout.edge(edge).points ?? [] })),
    },
    size,
    gaps.rankGap / 2,
  );
  return containDrawing(routed, size);
}

/**
 * The layout moved and sized so that every node's box and every edge point lies DRAWING_PAD inside its width and
 * height. dagre sizes its drawing by the nodes alone, so an edge bent above the top row (or laid along the drawing's
 * edge) was cut off, arrow head and all.
 */
export function containDrawing(layout: Layout, size: { readonly width: number; readonly height: number }): Layout {
  const centres = [...layout.nodes.values()];
  const points = layout.edges.flatMap((edge) => edge.points);
  if (centres.length === 0) return layout;
  const xs = [...centres.flatMap((c) => [c.x - size.width / 2, c.x + size.width / 2]), ...points.map((p) => p.x)];
  const ys = [...centres.flatMap((c) => [c.y - size.height / 2, c.y + size.height / 2]), ...points.map((p) => p.y)];
  const [left, top] = [Math.min(...xs), Math.min(...ys)];
  const shift = (point: Point): Point => ({ x: point.x - left + DRAWING_PAD, y: point.y - top + DRAWING_PAD });
  return {
    width: Math.max(...xs) - left + 2 * DRAWING_PAD,
    height: Math.max(...ys) - top + 2 * DRAWING_PAD,
    nodes: new Map([...layout.nodes].map(([id, centre]) => [id, shift(centre)])),
    edges: layout.edges.map((edge) => ({ ...edge, points: edge.points.map(shift) })),
  };
}
