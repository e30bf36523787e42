/**
 * `fineflow schedule …` end to end through the CLI entry point (in-process), on the real stack:
 * output, --json and exit codes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { requireStack } from '../../helpers/stack';
import { runCli, type CliResult } from '../../helpers/cli';
import { connectClient } from '../../../src/client/temporal-connection';
import { loadConfig } from '../../../src/config';
import { waitFor } from './harness';

const dir = mkdtempSync(path.join(tmpdir(), 'ff-schedule-cli-'));
const suffix = Math.random().toString(36).slice(2, 8);
const name = `cli-sched-${suffix}`;
const file = path.join(dir, 'pipeline.yaml');
const stageModule = path.resolve(__dirname, '../../stage-types/index.ts');

function fineflow(...argv: string[]): Promise<CliResult> {
  return runCli(argv, { cwd: dir });
}

before(async () => {
  await requireStack();
  writeFileSync(
    file,
    `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params: {tag: first}
defaults: {pool: cpu, timeout: 1m}
schedule: {cron: "0 3 * * *", timezone: Europe/Berlin, catchupWindow: 6h, overlap: buffer-one}
stages:
  echo: {uses: test-echo, with: {value: "\${{ params.tag }}"}}
`,
  );
});

/** Runs the test triggered: ended when it ends, whatever worker (if any) picked them up. */
const triggered: string[] = [];

after(async () => {
  await fineflow('schedule', 'delete', name);
  if (triggered.length === 0) return;
  const client = await connectClient(loadConfig(process.env).temporal);
  for (const runId of triggered)
    await client.workflow
      .getHandle(runId)
      .terminate('schedule cli test cleanup')
      .catch(() => undefined);
  await client.connection.close();
});

void it(
  'apply, re-apply, update, pause, describe, delete — with --json and exit codes',
  { timeout: 60_000 },
  async () => {
    const created = await fineflow('schedule', 'apply', 'pipeline.yaml', '--stage-module', stageModule, '--json');
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).schedule, 'created');

    const again = await fineflow('schedule', 'apply', 'pipeline.yaml', '--stage-module', stageModule);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /schedule fineflow-cli-sched-\w+: unchanged/);
    assert.match(again.stdout, /^unchanged$/m);

    const updated = await fineflow(
      'schedule',
      'apply',
      'pipeline.yaml',
      '--stage-module',
      stageModule,
      '--set',
      'tag=second',
      '--json',
    );
    assert.equal(JSON.parse(updated.stdout).schedule, 'updated');

    // Said the way the file says it, with the next starts in UTC and Berlin time (was Temporal's calendar JSON).
    const text = await fineflow('schedule', 'describe', name);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ {2}cron "0 3 \* \* \*" \(Europe\/Berlin time\)$/m);
    assert.match(text.stdout, /^ {2}next \d{4}-\d\d-\d\dT0[12]:00:00Z \(\w{3} \d+ \w{3} 03:00 Europe\/Berlin\)$/m);
    assert.doesNotMatch(text.stdout, /calendars/);

    // A run triggered by hand is among the schedule's recent runs, said so (it read as if no run had started).
    const none = await fineflow('schedule', 'describe', name);
    assert.match(none.stdout, /^ {2}recent runs: none yet$/m);
    const trigger = await fineflow('schedule', 'trigger', name, '--json');
    assert.equal(trigger.code, 0, trigger.stderr);
    const [runId] = JSON.parse(trigger.stdout).runIds as string[];
    triggered.push(runId as string);
    const manualLine = new RegExp(`^ {2}run ${runId}: triggered by hand, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`, 'm');
    const shown = await waitFor(
      'the triggered run in describe',
      () => fineflow('schedule', 'describe', name),
      (r) => manualLine.test(r.stdout),
      15_000,
    );
    assert.doesNotMatch(shown.stdout, /recent runs: none yet/);
    const listText = await fineflow('schedule', 'list');
    assert.match(listText.stdout, new RegExp(`last run ${runId} \\w+ \\(triggered by hand\\)`));

    assert.equal((await fineflow('schedule', 'pause', name, '--note', 'data migration')).code, 0);
    const described = await fineflow('schedule', 'describe', name, '--json');
    assert.equal(described.code, 0, described.stderr);
    const details = JSON.parse(described.stdout);
    assert.equal(details.schedule.paused, true);
    assert.equal(details.schedule.note, 'data migration');
    assert.equal(details.schedule.overlap, 'buffer-one');
    assert.equal(details.schedule.catchupWindowMs, 6 * 3_600_000);
    assert.deepEqual(details.schedule.params, { tag: 'second' });
    assert.ok(details.schedule.spec.calendars, '--json keeps the compiled spec');
    assert.deepEqual(details.schedule.written.cron, ['0 3 * * *']);

    const listed = JSON.parse((await fineflow('schedule', 'list', '--json')).stdout);
    assert.ok(listed.schedules.some((s: { pipeline: string; paused: boolean }) => s.pipeline === name && s.paused));

    const deleted = await fineflow('schedule', 'delete', name);
    assert.equal(deleted.code, 0);
    const gone = await fineflow('schedule', 'describe', name);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no schedule for pipeline/);
  },
);

void it('an invalid file applies nothing (exit 1); usage errors exit 2; no Temporal exits 3', async () => {
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    `apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: bad-${suffix}}\nschedule: {every: soon}\nstages:\n  a: {uses: test-echo}\n`,
  );
  const invalid = await fineflow('schedule', 'apply', 'bad.yaml', '--stage-module', stageModule);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /nothing applied/);
  assert.equal(
    (await fineflow('schedule', 'backfill', name, '--from', 'yesterday', '--to', '2026-01-01T00:00:00Z')).code,
    2,
  );
  assert.equal((await fineflow('schedule', 'explode')).code, 2);
  const saved = process.env.TEMPORAL_ADDRESS;
  process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
  try {
    assert.equal((await fineflow('schedule', 'list')).code, 3);
  } finally {
    process.env.TEMPORAL_ADDRESS = saved;
  }
});
