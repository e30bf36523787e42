/**
 * Reading Prometheus pages and Grafana dashboards in tests: the text exposition format parsed
 * into samples, and the metric names a dashboard's queries use.
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Samples of a text-format page (comments and blank lines skipped); throws on a malformed line. */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line.trim());
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(LABEL)) labels[label[1] ?? ''] = label[2] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

interface DashboardPanel {
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly DashboardPanel[];
}

/** Every PromQL expression of a dashboard (rows' nested panels included). */
export function dashboardExpressions(dashboard: { readonly panels?: readonly DashboardPanel[] }): string[] {
  const walk = (panels: readonly DashboardPanel[] = []): string[] =>
    panels.flatMap((p) => [...(p.targets ?? []).flatMap((t) => (t.expr ? [t.expr] : [])), ...walk(p.panels)]);
  return walk(dashboard.panels);
}

/** Metric names (fineflow_* and temporal_*) the dashboard's queries read, sorted, unique. */
export function dashboardMetricNames(dashboard: { readonly panels?: readonly DashboardPanel[] }): string[] {
  const names = dashboardExpressions(dashboard).flatMap(
    (expr) => expr.match(/\b(?:fineflow|temporal)_[a-z0-9_]+/g) ?? [],
  );
  return [...new Set(names)].sort();
}
