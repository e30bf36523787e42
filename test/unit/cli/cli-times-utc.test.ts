/**
 * The CLI's text output says the zone of every time it shows, one way: `2026-12-06 09:00:00 UTC`. `models show`,
 * `models show NAME` and `runs` printed the stored ISO text (`2026-12-06T09:00:00.000Z`), whose `Z` a reader has to
 * know means UTC, while the web app said "(UTC)". JSON output keeps the ISO text (the data-cli integration test checks
 * `data versions` and its re-seal time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderCard, renderVersions } from '../../../src/cli/commands/models';
import { formatUtcTime, renderRunList } from '../../../src/client/render';
import type { ModelCard } from '../../../src/ml/models/registry';

const card = {
  name: 'surface-defects',
  version: 2,
  createdAt: '2026-12-06T09:00:00.000Z',
  source: 's3://fineflow/runs/r/finetune/model/model.json',
  lineage: { runId: 'r' },
} as ModelCard;

test('models show, a model\'s versions and the runs list write times with "UTC"', () => {
  assert.match(renderCard(card, []), /\n {2}created {5}2026-12-06 09:00:00 UTC\n/);
  const versions = renderVersions({ name: card.name, aliases: {}, versions: [card] }).split('\n');
  assert.match(versions[1] ?? '', /^2\s+-\s+2026-12-06 09:00:00 UTC\s/);
  const runs = renderRunList([
    { runId: 'r-1', pipeline: 'p', status: 'succeeded', startedAt: '2026-12-06T08:01:21.5Z', trigger: 'manual' },
  ] as Parameters<typeof renderRunList>[0]).split('\n');
  assert.match(runs[1] ?? '', /\s2026-12-06 08:01:21 UTC\s+manual$/);
});

test('a stored time that is no time is shown as it is, not as "Invalid Date"', () => {
  assert.equal(formatUtcTime('2026-12-07T010:00:00Z'), '2026-12-07T010:00:00Z');
  assert.equal(formatUtcTime('2026-12-07T10:00:00+02:00'), '2026-12-07 08:00:00 UTC');
});
