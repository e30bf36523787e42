/**
 * Where the DAG's stages and edges go (dagre; layered-layout.ts for large graphs), apart from drawing them (dag.ts):
 * pure, so the layout of the example pipelines is unit-tested in Node.
 */
import dagre, { type Edge } from '@dagrejs/dagre';
import { routeEdges } from './edge-routing';
import { LARGE_GRAPH, layeredLayout, type Layout } from './layered-layout';

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

/** dagre for ordinary pipelines (its edge routing reads better); the layered layout for large ones. */
export function layoutOf(graph: GraphData): Layout {
  const gaps = { nodeWidth: NODE_WIDTH, nodeHeight: NODE_HEIGHT, nodeGap: 18, rankGap: 46, margin: 8 };
  if (graph.nodes.length > LARGE_GRAPH) return layeredLayout({ ...gaps, nodes: graph.nodes, edges: graph.edges });
  const layout = new dagre.graphlib.Graph();
  layout.setGraph({ rankdir: 'LR', nodesep: gaps.nodeGap, ranksep: gaps.rankGap, marginx: 8, marginy: 8 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) layout.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of graph.edges) layout.setEdge(edge.from, edge.to);
  dagre.layout(layout);
  const size = layout.graph();
  // dagre's edges may end on a box's top or bottom, or (in line with other nodes) pass behind a box they cross.
  return routeEdges(
    {
      width: size.width ?? 0,
      height: size.height ?? 0,
      nodes: new Map(graph.nodes.map((node) => [node.id, layout.node(node.id)])),
      edges: layout.edges().map((edge: Edge) => ({ from: edge.v, to: edge.w, points: layout.edge(edge).points ?? [] })),
    },
    { width: NODE_WIDTH, height: NODE_HEIGHT },
    gaps.rankGap / 2,
  );
}
