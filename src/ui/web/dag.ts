/**
 * The DAG of a plan or run, laid out by dagre (left to right) and drawn as SVG. Nodes are
 * keyboard-focusable buttons; `update` recolours them from live stage states without a new
 * layout, so a state change is one attribute write per node.
 */
import dagre from '@dagrejs/dagre';

export interface GraphNode {
  readonly id: string;
  readonly uses: string;
  readonly pool: string;
}

export interface GraphData {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

const SVG = 'http://www.w3.org/2000/svg';
const NODE_WIDTH = 168;
const NODE_HEIGHT = 46;

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

export interface DagView {
  readonly element: SVGSVGElement;
  update(states: ReadonlyMap<string, { readonly status: string; readonly detail?: string }>): void;
  select(stageId: string | undefined): void;
}

export function drawDag(graph: GraphData, onSelect?: (stageId: string) => void): DagView {
  const layout = new dagre.graphlib.Graph();
  layout.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 46, marginx: 8, marginy: 8 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) layout.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of graph.edges) layout.setEdge(edge.from, edge.to);
  dagre.layout(layout);
  const size = layout.graph();
  const width = Math.max(size.width ?? 0, NODE_WIDTH + 16);
  const height = Math.max(size.height ?? 0, NODE_HEIGHT + 16);
  const root = svg('svg', {
    class: 'dag',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'group',
    'aria-label': 'Pipeline stages',
  });
  const defs = svg('defs', {});
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.appendChild(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow' }));
  defs.appendChild(marker);
  root.appendChild(defs);
  for (const edge of layout.edges()) {
    const points: readonly { x: number; y: number }[] = layout.edge(edge).points ?? [];
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    root.appendChild(svg('path', { d, class: 'edge', 'marker-end': 'url(#arrow)' }));
  }
  const groups = new Map<string, SVGGElement>();
  for (const node of graph.nodes) {
    const at = layout.node(node.id);
    const group = svg('g', {
      class: 'node',
      'data-stage': node.id,
      'data-status': 'pending',
      transform: `translate(${(at.x - NODE_WIDTH / 2).toFixed(1)} ${(at.y - NODE_HEIGHT / 2).toFixed(1)})`,
      tabindex: 0,
      role: 'button',
      'aria-label': `stage ${node.id} (${node.uses}): pending`,
    });
    group.appendChild(svg('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 6 }));
    const title = svg('text', { x: 10, y: 19, class: 'node-title' });
    title.textContent = node.id.length > 20 ? `${node.id.slice(0, 19)}…` : node.id;
    const sub = svg('text', { x: 10, y: 36, class: 'node-sub' });
    const subText = `${node.uses} · ${node.pool}`;
    sub.textContent = subText.length > 28 ? `${subText.slice(0, 27)}…` : subText;
    const tip = svg('title', {});
    tip.textContent = `${node.id}: ${subText}`;
    group.append(tip, title, sub);
    if (onSelect) {
      group.addEventListener('click', () => onSelect(node.id));
      group.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onSelect(node.id);
        }
      });
    }
    groups.set(node.id, group);
    root.appendChild(group);
  }
  return {
    element: root,
    update(states) {
      for (const [id, group] of groups) {
        const state = states.get(id);
        if (!state) continue;
        group.setAttribute('data-status', state.status);
        const node = graph.nodes.find((n) => n.id === id);
        group.setAttribute(
          'aria-label',
          `stage ${id} (${node?.uses ?? ''}): ${state.status}${state.detail ? `, ${state.detail}` : ''}`,
        );
      }
    },
    select(stageId) {
      for (const [id, group] of groups) group.classList.toggle('selected', id === stageId);
    },
  };
}
