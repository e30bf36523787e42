/** Time zones are checked as Temporal reads them (case-sensitive IANA names), by validate and schedule apply alike. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeZoneProblem } from '../../../src/schedules/time-zone';
import { validatePipeline } from '../../../src/spec';

const pipeline = (zone: string): string => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: p}
schedule:
  cron: "0 3 * * *"
  timezone: ${zone}
stages:
  a: {uses: register-model, with: {model: "s3://models/m/", name: m}}
`;

test('exact IANA names pass; another case is refused with the exact spelling to write', () => {
  for (const zone of ['UTC', 'Etc/UTC', 'Europe/Berlin', 'America/New_York', 'US/Pacific'])
    assert.equal(timeZoneProblem(zone), undefined, zone);
  assert.equal(timeZoneProblem('europe/berlin')?.hint, 'write Europe/Berlin');
  assert.equal(timeZoneProblem('utc')?.hint, 'write UTC');
  assert.equal(timeZoneProblem('AMERICA/NEW_YORK')?.hint, 'write America/New_York');
  assert.match(timeZoneProblem('Mars/Base')?.problem ?? '', /unknown time zone/);
});

test('validate reports a mis-cased zone as bad-timezone at the value', () => {
  const errors = validatePipeline(pipeline('europe/berlin'), 'p.yaml').diagnostics.filter(
    (d) => d.severity === 'error',
  );
  assert.deepEqual(
    errors.map((d) => [d.code, d.line, d.column, d.hint]),
    [['bad-timezone', 6, 13, 'write Europe/Berlin']],
  );
  assert.equal(
    validatePipeline(pipeline('Europe/Berlin'), 'p.yaml').diagnostics.filter((d) => d.severity === 'error').length,
    0,
  );
});
