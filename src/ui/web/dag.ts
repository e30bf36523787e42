/**
 * The DAG of a plan or run, laid out left to right (dagre; layered-layout.ts for large graphs)
 * and drawn as SVG. Nodes are keyboard-focusable buttons; `update` recolours them from live stage
 * states without a new layout, writing only the attributes that changed.
 */
import { layoutOf, MIN_DRAWING_SCALE, NODE_HEIGHT, NODE_PAD_X, NODE_WIDTH } from './dag-layout';

import { pageTextMeasure } from './page-text';
import type { GraphData } from './dag-layout';
export type { GraphData, GraphNode } from './dag-layout';

const SVG = 'http://www.w3.org/2000/svg';

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
  /** `status` styles a box (data-status); `label` is the word read out when it is not the status itself. */
  update(
    states: ReadonlyMap<string, { readonly status: string; readonly label?: string; readonly detail?: string }>,
  ): void;
  select(stageId: string | undefined): void;
}

export function drawDag(graph: GraphData, onSelect?: (stageId: string) => void): DagView {
  const layout = layoutOf(graph, pageTextMeasure());
  const width = Math.max(layout.width, NODE_WIDTH + 16);
  const height = Math.max(layout.height, NODE_HEIGHT + 16);
  const root = svg('svg', {
    class: 'dag',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'group',
    'aria-label': 'Pipeline stages',
  });
  // styles.css shrinks the drawing to its box (not on a phone), to no less than this width, at which its titles are
  // still 12 px. Set through the CSSOM: the page's CSP refuses style attributes.
  root.style.setProperty('--dag-min-width', `${Math.ceil(width * MIN_DRAWING_SCALE)}px`);
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
  // The fill of a stage an ended run never ran (styles.css): hatched, unlike any live state's plain fill.
  const hatch = svg('pattern', {
    id: 'not-run-hatch',
    width: 6,
    height: 6,
    patternUnits: 'userSpaceOnUse',
    patternTransform: 'rotate(45)',
  });
  hatch.append(
    svg('rect', { width: 6, height: 6, class: 'hatch-bg' }),
    svg('path', { d: 'M 0 0 V 6', class: 'hatch-line' }),
  );
  defs.appendChild(hatch);
  root.appendChild(defs);
  // Edges under the boxes; one the layout left straight across boxes (`over`, past the large layout's waypoint budget)
  // above them, on a halo of the box colour, so no edge is ever hidden.
  const above: SVGElement[] = [];
  for (const edge of layout.edges) {
    const points = edge.points;
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    const path = svg('path', {
      d,
      class: edge.over ? 'edge over' : 'edge',
      'marker-end': 'url(#arrow)',
      'data-from': edge.from,
      'data-to': edge.to,
    });
    if (edge.over) above.push(svg('path', { d, class: 'edge-halo' }), path);
    else root.appendChild(path);
  }
  const groups = new Map<string, SVGGElement>();
  const tips = new Map<string, SVGTitleElement>();
  // A box's second line; a stage that never ran says so there in words (a look alone is not enough).
  const subs = new Map<string, { readonly element: SVGTextElement; readonly text: string }>();
  for (const node of graph.nodes) {
    const at = layout.nodes.get(node.id) ?? { x: 0, y: 0 };
    const boxWidth = layout.boxes.get(node.id)?.width ?? NODE_WIDTH;
    const label = layout.labels.get(node.id);
    const group = svg('g', {
      class: 'node',
      'data-stage': node.id,
      'data-status': 'pending',
      transform: `translate(${(at.x - boxWidth / 2).toFixed(1)} ${(at.y - NODE_HEIGHT / 2).toFixed(1)})`,
      tabindex: 0,
      role: 'button',
      'aria-label': `stage ${node.id} (${node.uses}): pending`,
    });
    group.appendChild(svg('rect', { width: boxWidth, height: NODE_HEIGHT, rx: 6 }));
    const title = svg('text', { x: NODE_PAD_X, y: 19, class: 'node-title' });
    title.textContent = label?.title ?? node.id;
    const sub = svg('text', { x: NODE_PAD_X, y: 37, class: 'node-sub' });
    const subText = `${node.uses} · ${node.pool}`;
    sub.textContent = label?.sub ?? subText;
    subs.set(node.id, { element: sub, text: sub.textContent });
    const tip = svg('title', {});
    tip.textContent = `${node.id}: ${subText}`;
    tips.set(node.id, tip);
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
  root.append(...above);
  return {
    element: root,
    update(states) {
      // Only what changed is written: a 500-stage run's update touches the few stages that moved.
      for (const node of graph.nodes) {
        const state = states.get(node.id);
        const group = groups.get(node.id);
        if (!state || !group) continue;
        const shown = `${state.label ?? state.status}${state.detail ? `, ${state.detail}` : ''}`;
        const label = `stage ${node.id} (${node.uses}): ${shown}`;
        if (group.getAttribute('data-status') !== state.status) group.setAttribute('data-status', state.status);
        if (group.getAttribute('aria-label') !== label) group.setAttribute('aria-label', label);
        // The tooltip says what the box's look means for a stage that never ran (its look alone is not enough).
        const tip = tips.get(node.id);
        const tipText = `${node.id}: ${node.uses} · ${node.pool}${state.status === 'not-run' ? `\n${shown}` : ''}`;
        if (tip && tip.textContent !== tipText) tip.textContent = tipText;
        const sub = subs.get(node.id);
        const subText = state.status === 'not-run' ? (state.label ?? state.status) : sub?.text;
        if (sub && sub.element.textContent !== subText) sub.element.textContent = subText ?? '';
      }
    },
    select(stageId) {
      for (const [id, group] of groups) group.classList.toggle('selected', id === stageId);
    },
  };
}
