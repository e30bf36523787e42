/**
 * The browser app of `fineflow ui`: a hash router over the pages. Bundled by esbuild at server
 * start (src/ui/bundle.ts) with its styles, uPlot and dagre; no request leaves the UI's origin.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { comparePage } from './pages/compare';
import { datasetsPage, datasetVersionPage } from './pages/datasets';
import { modelPage, modelsPage } from './pages/models';
import { pipelinesPage } from './pages/pipelines';
import { runPage } from './pages/run';
import { runsPage } from './pages/runs';
import { schedulesPage } from './pages/schedules';
import { h, settings, type Page } from './util';

let current: Page | undefined;

function route(): Page {
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'runs':
      return parts[1] ? runPage(parts[1], params) : runsPage(params);
    case 'compare':
      return comparePage(params);
    case 'models':
      return parts[1] ? modelPage(parts[1]) : modelsPage();
    case 'datasets':
      return parts[1] && parts[2] ? datasetVersionPage(parts[1], parts[2], params) : datasetsPage();
    case 'schedules':
      return schedulesPage();
    case 'pipelines':
      return pipelinesPage();
    default:
      return runsPage(params);
  }
}

function render(): void {
  current?.dispose?.();
  const main = document.getElementById('main');
  if (!main) return;
  current = route();
  main.replaceChildren(current.element);
  const section = location.hash.split('/')[1] ?? 'runs';
  for (const link of document.querySelectorAll<HTMLAnchorElement>('header nav a')) {
    if (link.getAttribute('href') === `#/${section.split('?')[0]}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

window.addEventListener('hashchange', render);
window.addEventListener('DOMContentLoaded', () => {
  if (settings.readOnly)
    document.getElementById('mode')?.appendChild(h('span', { class: 'badge read-only' }, 'read-only'));
  render();
});
