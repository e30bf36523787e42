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

/**
 * The nav's menu button on a phone (styles.css hides it on a wider screen, where the nav is always shown): a
 * disclosure that shows the nav below the header. Escape closes it and gives the focus back to the button; following
 * a link, or a click outside the header, closes it too.
 */
function navMenu(): void {
  const header = document.querySelector<HTMLElement>('header.top');
  const button = header?.querySelector<HTMLButtonElement>('button.nav-toggle');
  if (!header || !button) return;
  const isOpen = (): boolean => button.getAttribute('aria-expanded') === 'true';
  const setOpen = (open: boolean): void => {
    button.setAttribute('aria-expanded', String(open));
    header.classList.toggle('nav-open', open);
  };
  button.addEventListener('click', () => setOpen(!isOpen()));
  header.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !isOpen()) return;
    setOpen(false);
    button.focus();
  });
  document.addEventListener('click', (event) => {
    if (isOpen() && !header.contains(event.target as Node)) setOpen(false);
  });
  window.addEventListener('hashchange', () => setOpen(false));
}

window.addEventListener('hashchange', render);
window.addEventListener('DOMContentLoaded', () => {
  navMenu();
  if (settings.readOnly)
    document.getElementById('mode')?.appendChild(h('span', { class: 'badge read-only' }, 'read-only'));
  render();
});
