/**
 * infra/grafana/fineflow.json: a well-formed Grafana dashboard whose every query reads a metric
 * Fineflow registers, filtered and grouped only by labels that metric has. (The Temporal SDK's
 * metrics are checked against a real scrape in test/integration/observability/metrics-scrape.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createFineflowMetrics } from '../../../src/observability/metrics';
import { createUiMetrics } from '../../../src/observability/ui-metrics';
import { dashboardExpressions, dashboardMetricNames } from '../../helpers/prometheus';

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly datasource?: { uid?: string };
  readonly targets?: readonly { expr?: string; datasource?: { uid?: string } }[];
}

const dashboard = JSON.parse(readFileSync(path.resolve(__dirname, '../../../infra/grafana/fineflow.json'), 'utf8')) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string }[] };
};

/** Registered Fineflow metric names → their label names (histograms also by _bucket/_sum/_count). */
function registeredLabels(): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const registry of [createFineflowMetrics({ pool: 'p' }).registry, createUiMetrics().registry]) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames = [] } = metric as unknown as { name: string; labelNames?: string[] };
      const type = (metric as unknown as { type: string }).type;
      const names = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
      for (const n of names)
        labels.set(n, new Set([...labelNames, 'pool', 'instance', 'job', ...(type === 'histogram' ? ['le'] : [])]));
    }
  }
  return labels;
}

test('the dashboard has a uid, a datasource variable and non-overlapping panels with unique ids', () => {
  assert.equal(dashboard.uid, 'fineflow-overview');
  assert.ok(dashboard.schemaVersion >= 36);
  assert.deepEqual(
    dashboard.templating.list.map((v) => v.name),
    ['datasource', 'pool'],
  );
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const cells = new Set<string>();
  for (const panel of dashboard.panels) {
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `${panel.title}: fits 24 columns`);
    for (let row = y; row < y + h; row++)
      for (let col = x; col < x + w; col++) {
        const cell = `${row}:${col}`;
        assert.ok(!cells.has(cell), `${panel.title} overlaps another panel at ${cell}`);
        cells.add(cell);
      }
    if (panel.type === 'row') continue;
    assert.ok((panel.targets ?? []).length > 0, `${panel.title} has queries`);
    for (const target of [panel, ...(panel.targets ?? [])])
      assert.equal(target.datasource?.uid, '${datasource}', `${panel.title}: datasource comes from the variable`);
  }
});

test('every Fineflow metric a query reads is registered, with the labels it filters and groups by', () => {
  const known = registeredLabels();
  const names = dashboardMetricNames(dashboard).filter((n) => n.startsWith('fineflow_'));
  assert.ok(names.length >= 12, `the dashboard reads Fineflow's metrics (${names.length})`);
  assert.deepEqual(
    names.filter((n) => !known.has(n)),
    [],
    'unknown Fineflow metrics in the dashboard',
  );
  for (const expr of dashboardExpressions(dashboard)) {
    for (const selector of expr.matchAll(/\b(fineflow_[a-z0-9_]+)(?:\{([^}]*)\})?/g)) {
      const labels = known.get(selector[1] ?? '');
      for (const matcher of (selector[2] ?? '').matchAll(/([a-z_]+)\s*(?:=~|!=|=)/g))
        assert.ok(labels?.has(matcher[1] ?? ''), `${selector[1]} has no label ${matcher[1]} (${expr})`);
    }
    for (const group of expr.matchAll(/by \(([^)]*)\)/g)) {
      const grouped = (group[1] ?? '').split(',').map((l) => l.trim());
      const used = [...expr.matchAll(/\b(fineflow_[a-z0-9_]+)/g)].map((m) => known.get(m[1] ?? ''));
      if (used.length === 0) continue; // the SDK's metrics: checked against a real scrape
      for (const label of grouped)
        assert.ok(
          used.some((l) => l?.has(label)),
          `no metric of "${expr}" has the label ${label}`,
        );
    }
  }
});
