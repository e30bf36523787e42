/**
 * The one HTML page of `fineflow ui`: it carries the per-process CSRF token and the settings the
 * frontend needs (read-only, Temporal UI link), escaped, in meta tags; the app itself is the
 * bundled /assets/app.js.
 */
export interface PageSettings {
  readonly csrfToken: string;
  readonly readOnly: boolean;
  readonly temporalUiUrl: string | undefined;
  readonly namespace: string;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/**
 * A page of the UI's own in a report's frame (a report it did not show, and why): in the page's theme, not the white
 * of a report. `paragraphs` are HTML, their text already escaped.
 */
function reportFramePage(title: string, paragraphs: readonly string[]): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="color-scheme" content="light dark">',
    `<title>${escapeHtml(title)}</title>`,
    // The app's --bg and --fg (src/ui/web/styles.css): the frame is white for reports, which are light documents,
    // but this page is the UI's own message, so it takes the page's theme (no white box in a dark page).
    '<style>:root { background: #ffffff; color: #1b1f24; }',
    '@media (prefers-color-scheme: dark) { :root { background: #0d1117; color: #e6edf3; } }',
    'body { font: 14px/1.45 system-ui, sans-serif; margin: 16px; } h1 { font-size: 16px; }',
    'code { overflow-wrap: anywhere; }</style></head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    ...paragraphs.map((p) => `<p>${p}</p>`),
    '</body></html>',
  ].join('\n');
}

/**
 * What the evaluate panel's frame shows instead of a report over the UI's bound: the object, the bound, why such an
 * object is not Fineflow's, and where it can still be looked at.
 */
export function oversizedReportHtml(uri: string, maxBytes: number): string {
  const limit = `${Math.round(maxBytes / (1024 * 1024))} MiB`;
  return reportFramePage('Report not shown', [
    `<code>${escapeHtml(uri)}</code> is larger than ${limit}, the most the UI serves as a report.`,
    [
      'Evaluate writes reports of a few hundred KiB, so this object was not written by Fineflow (pipeline code can',
      "write to the bucket). Its size and a download link are in this stage's Artifacts section;",
      '<code>fineflow report</code> refuses it too.',
    ].join('\n'),
  ]);
}

/**
 * What the report frame shows when the report could not be read (the frame drew the JSON error as a blank page):
 * the reason and, by the response's status, what to do.
 */
export function unreadableReportHtml(message: string, status: number): string {
  const advice =
    status === 503
      ? 'The object store did not answer. Check that it is up (<code>fineflow dev status</code> for a local stack), ' +
        'then reload the page.'
      : status === 404
        ? 'This stage has no report to show.'
        : 'The UI server’s log has the details; reload the page once it is fixed.';
  return reportFramePage('Report not read', [escapeHtml(message), advice]);
}

export function indexHtml(settings: PageSettings): string {
  const meta = (name: string, value: string): string => `<meta name="${name}" content="${escapeHtml(value)}">`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    meta('fineflow-csrf', settings.csrfToken),
    meta('fineflow-read-only', String(settings.readOnly)),
    meta('fineflow-temporal-ui', settings.temporalUiUrl ?? ''),
    meta('fineflow-namespace', settings.namespace),
    '<title>Fineflow</title>',
    '<link rel="icon" href="data:,">',
    '<link rel="stylesheet" href="/assets/app.css">',
    '</head>',
    '<body>',
    '<a class="skip" href="#main">Skip to content</a>',
    '<header class="top"><a class="brand" href="#/runs">Fineflow</a>',
    // On a phone the six sections do not fit one line: the nav folds behind this button (main.ts: navMenu). It comes
    // before the nav, so Tab goes from it into the opened list.
    '<button type="button" class="nav-toggle" aria-expanded="false" aria-controls="main-nav">',
    '<span class="nav-toggle-icon" aria-hidden="true">☰</span>Menu</button>',
    '<nav id="main-nav" aria-label="Main">',
    '<a href="#/runs">Runs</a><a href="#/compare">Compare</a><a href="#/models">Models</a>',
    '<a href="#/datasets">Datasets</a><a href="#/schedules">Schedules</a><a href="#/pipelines">Pipelines</a>',
    '</nav><span id="mode"></span></header>',
    '<main id="main" tabindex="-1"></main>',
    '<script src="/assets/app.js"></script>',
    '</body>',
    '</html>',
  ].join('\n');
}
