/**
 * Where the DAG's stages and edges go (dagre; layered-layout.ts for large graphs), apart from drawing them (dag.ts):
 * pure, so the layout of the example pipelines is unit-tested in Node. A box is as wide as its text (the page measures
 * it; Node estimates it), so six or seven columns of the usual stages fit a 1280 px page with 12 px titles: at one
 * width for all (188 px, the widest stage type's) six columns needed 1,374 px and were shrunk to 89 %.
 */
import dagre, { type Edge } from '@dagrejs/dagre';
import { routeEdges, sizeOfNode, type NodeSize, type NodeSizes } from './edge-routing';
import { LARGE_GRAPH, layeredLayout, type Layout, type Point } from './layered-layout';
import { estimateTextWidth, fitText, type MeasureText } from './text-fit';

export { estimateTextWidth, fitText, type MeasureText } from './text-fit';

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

/** The widest a box gets: longer text is cut with an ellipsis (the box's tooltip and label have it whole). */
export const NODE_WIDTH = 188;
/** The narrowest box, so a short id (`a`) still reads as a box one can click. */
export const MIN_NODE_WIDTH = 96;
export const NODE_HEIGHT = 46;
/** Text's inset from a box's left and right borders. */
export const NODE_PAD_X = 10;
/** Font sizes of a box's title (the stage id) and its line under it (uses · pool); styles.css says the same. */
export const TITLE_FONT_PX = 13;
export const SUB_FONT_PX = 11;
/**
 * The least the page may shrink a drawing to fit its box (styles.css: svg.dag's min-width): its titles stay at 12 px
 * or more.
 */
export const MIN_DRAWING_SCALE = 12 / TITLE_FONT_PX;

/** What a stage's box says, cut to fit, and how wide the box is. */
export interface NodeLabel {
  readonly title: string;
  readonly sub: string;
  readonly width: number;
}

export function nodeLabel(node: GraphNode, measure: MeasureText): NodeLabel {
  const room = NODE_WIDTH - 2 * NODE_PAD_X;
  const title = fitText(node.id, room, TITLE_FONT_PX, measure);
  const sub = fitText(`${node.uses} · ${node.pool}`, room, SUB_FONT_PX, measure);
  const text = Math.max(measure(title, TITLE_FONT_PX), measure(sub, SUB_FONT_PX));
  return { title, sub, width: Math.min(NODE_WIDTH, Math.max(MIN_NODE_WIDTH, Math.ceil(text) + 2 * NODE_PAD_X)) };
}

/** A layout with each stage's box size and text. */
export interface DagLayout extends Layout {
  readonly boxes: ReadonlyMap<string, NodeSize>;
  readonly labels: ReadonlyMap<string, NodeLabel>;
}
/**
 * Room on every side of what the drawing holds: enough for the widest thing drawn past a box or an edge's end (a
 * selected node's 3.5 px border and 3 px glow; an arrow head, 7 × the 1.4 px edge stroke, about the end).
 */
export const DRAWING_PAD = 8;

/**
 * dagre for ordinary pipelines (its edge routing reads better), each box as wide as its text and each column as wide
 * as its widest box; the layered layout, every box NODE_WIDTH wide, for large ones.
 */
export function layoutOf(graph: GraphData, measure: MeasureText = estimateTextWidth): DagLayout {
  const labels = new Map(graph.nodes.map((node) => [node.id, nodeLabel(node, measure)]));
  const gaps = { nodeWidth: NODE_WIDTH, nodeHeight: NODE_HEIGHT, nodeGap: 18, rankGap: 40, margin: DRAWING_PAD };
  if (graph.nodes.length > LARGE_GRAPH) {
    const size = { width: NODE_WIDTH, height: NODE_HEIGHT };
    const laid = containDrawing(layeredLayout({ ...gaps, nodes: graph.nodes, edges: graph.edges }), size);
    return { ...laid, boxes: new Map(graph.nodes.map((node) => [node.id, size])), labels };
  }
  const boxes = new Map(
    graph.nodes.map((node) => [node.id, { width: labels.get(node.id)?.width ?? NODE_WIDTH, height: NODE_HEIGHT }]),
  );
  const sizes = (id: string): NodeSize => boxes.get(id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
  const layout = new dagre.graphlib.Graph();
  layout.setGraph({ rankdir: 'LR', nodesep: gaps.nodeGap, ranksep: gaps.rankGap, marginx: 8, marginy: 8 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) layout.setNode(node.id, sizes(node.id));
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
    sizes,
    gaps.rankGap / 2,
  );
  return { ...containDrawing(routed, sizes), boxes, labels };
}

/**
 * The layout moved and sized so that every node's box and every edge point lies DRAWING_PAD inside its width and
 * height. dagre sizes its drawing by the nodes alone, so an edge bent above the top row (or laid along the drawing's
 * edge) was cut off, arrow head and all.
 */
export function containDrawing(layout: Layout, sizes: NodeSizes): Layout {
  const boxes = [...layout.nodes].map(([id, centre]) => ({ centre, size: sizeOfNode(sizes, id) }));
  const points = layout.edges.flatMap((edge) => edge.points);
  if (boxes.length === 0) return layout;
  const xs = [
    ...boxes.flatMap(({ centre, size }) => [centre.x - size.width / 2, centre.x + size.width / 2]),
    ...points.map((p) => p.x),
  ];
  const ys = [
    ...boxes.flatMap(({ centre, size }) => [centre.y - size.height / 2, centre.y + size.height / 2]),
    ...points.map((p) => p.y),
  ];
  const [left, top] = [Math.min(...xs), Math.min(...ys)];
  const shift = (point: Point): Point => ({ x: point.x - left + DRAWING_PAD, y: point.y - top + DRAWING_PAD });
  return {
    width: Math.max(...xs) - left + 2 * DRAWING_PAD,
    height: Math.max(...ys) - top + 2 * DRAWING_PAD,
    nodes: new Map([...layout.nodes].map(([id, centre]) => [id, shift(centre)])),
    edges: layout.edges.map((edge) => ({ ...edge, points: edge.points.map(shift) })),
  };
}
