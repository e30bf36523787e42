/**
 * Edges that the layout drew through other nodes' boxes, and a route around them. The DAG draws edges under its
 * nodes, so a long edge laid straight across a rank (dagre keeps its dummy points in line with other nodes) vanished
 * behind the boxes it crossed and seemed to end at one of them. Pure: unit-tested in Node.
 */
import type { Layout, Point } from './layered-layout';

export interface NodeSize {
  readonly width: number;
  readonly height: number;
}

/** One size for every node, or each node's own (the DAG's boxes are as wide as their text). */
export type NodeSizes = NodeSize | ((id: string) => NodeSize);

export function sizeOfNode(sizes: NodeSizes, id: string): NodeSize {
  return typeof sizes === 'function' ? sizes(id) : sizes;
}

/** Whether the segment a→b passes through the open box (Liang–Barsky clipping; touching its border does not count). */
export function segmentCrossesBox(
  a: Point,
  b: Point,
  box: { readonly left: number; readonly top: number; readonly right: number; readonly bottom: number },
): boolean {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  let enter = 0;
  let leave = 1;
  const clips: readonly [number, number][] = [
    [-dx, a.x - box.left],
    [dx, box.right - a.x],
    [-dy, a.y - box.top],
    [dy, box.bottom - a.y],
  ];
  for (const [p, q] of clips) {
    if (p === 0) {
      if (q <= 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) enter = Math.max(enter, t);
    else leave = Math.min(leave, t);
    if (enter >= leave) return false;
  }
  return leave - enter > 1e-9;
}

function boxOf(centre: Point, size: NodeSize) {
  return {
    left: centre.x - size.width / 2,
    top: centre.y - size.height / 2,
    right: centre.x + size.width / 2,
    bottom: centre.y + size.height / 2,
  };
}

/** For each edge, the nodes (other than its own ends) whose boxes it passes through. */
export function edgesThroughNodes(layout: Layout, sizes: NodeSizes): { from: string; to: string; through: string[] }[] {
  return layout.edges.flatMap((edge) => {
    const through = [...layout.nodes]
      .filter(([id]) => id !== edge.from && id !== edge.to)
      .filter(([id, centre]) =>
        edge.points.some((point, i) => {
          const next = edge.points[i + 1];
          return next !== undefined && segmentCrossesBox(point, next, boxOf(centre, sizeOfNode(sizes, id)));
        }),
      )
      .map(([id]) => id);
    return through.length > 0 ? [{ from: edge.from, to: edge.to, through }] : [];
  });
}

/**
 * The layout with each edge leaving its source's right side and entering its target's left side (dagre clips an edge
 * at the border its last bend points at, so an arrow could enter a box from below, against the left-to-right reading).
 * The end keeps its height where that is on the side, else the nearest point of the side.
 */
export function attachToSides(layout: Layout, sizes: NodeSizes): Layout {
  const onSide = (centre: Point, size: NodeSize, x: number, towards: Point | undefined): Point => {
    const inset = Math.min(6, size.height / 4);
    return {
      x,
      y: Math.min(
        centre.y + size.height / 2 - inset,
        Math.max(centre.y - size.height / 2 + inset, towards?.y ?? centre.y),
      ),
    };
  };
  return {
    ...layout,
    edges: layout.edges.map((edge) => {
      const source = layout.nodes.get(edge.from);
      const target = layout.nodes.get(edge.to);
      if (!source || !target || edge.points.length < 2) return edge;
      const inner = edge.points.slice(1, -1);
      const [sourceSize, targetSize] = [sizeOfNode(sizes, edge.from), sizeOfNode(sizes, edge.to)];
      const start = onSide(source, sourceSize, source.x + sourceSize.width / 2, inner[0] ?? target);
      const end = onSide(target, targetSize, target.x - targetSize.width / 2, inner[inner.length - 1] ?? source);
      return { ...edge, points: [start, ...inner, end] };
    }),
  };
}

/** What the DAG draws: edges on their nodes' sides, and none through another node's box. */
export function routeEdges(layout: Layout, sizes: NodeSizes, gap: number): Layout {
  return routeAroundNodes(attachToSides(layout, sizes), sizes, gap);
}

/**
 * The layout with every edge that passed through another node's box routed around the nodes between its ends: out of
 * its source's right side, along a lane `gap` above (or below, whichever is nearer the edge's ends) every node box
 * between them, into its target's left side. The drawing grows (and moves down, for a lane above) to hold the lanes.
 */
export function routeAroundNodes(layout: Layout, sizes: NodeSizes, gap: number): Layout {
  const crossing = edgesThroughNodes(layout, sizes);
  if (crossing.length === 0) return layout;
  const rerouted = new Set(crossing.map((edge) => `${edge.from}\u0000${edge.to}`));
  let lanes = 0;
  const edges = layout.edges.map((edge) => {
    if (!rerouted.has(`${edge.from}\u0000${edge.to}`)) return edge;
    const source = layout.nodes.get(edge.from);
    const target = layout.nodes.get(edge.to);
    if (!source || !target) return edge;
    const start = { x: source.x + sizeOfNode(sizes, edge.from).width / 2, y: source.y };
    const end = { x: target.x - sizeOfNode(sizes, edge.to).width / 2, y: target.y };
    // Every box whose columns lie between the ends: the lane passes all of them.
    const between = [...layout.nodes]
      .map(([id, centre]) => boxOf(centre, sizeOfNode(sizes, id)))
      .filter((box) => box.right > start.x && box.left < end.x);
    const above = Math.min(...between.map((box) => box.top)) - gap * (1 + lanes);
    const below = Math.max(...between.map((box) => box.bottom)) + gap * (1 + lanes);
    const middle = (start.y + end.y) / 2;
    const lane = Math.abs(middle - above) <= Math.abs(below - middle) ? above : below;
    lanes += 1;
    // Bends half a rank gap out of the source and before the target, so the edge leaves and enters sideways.
    const out = start.x + gap;
    const into = end.x - gap;
    return {
      ...edge,
      points: [start, { x: out, y: lane }, { x: into, y: lane }, end],
    };
  });
  const top = Math.min(0, ...edges.flatMap((edge) => edge.points.map((p) => p.y - gap / 2)));
  const bottom = Math.max(layout.height, ...edges.flatMap((edge) => edge.points.map((p) => p.y + gap / 2)));
  const shift = (point: Point): Point => ({ x: point.x, y: point.y - top });
  return {
    width: layout.width,
    height: bottom - top,
    nodes: new Map([...layout.nodes].map(([id, centre]) => [id, shift(centre)])),
    edges: edges.map((edge) => ({ ...edge, points: edge.points.map(shift) })),
  };
}
