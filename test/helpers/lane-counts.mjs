// scripts/test.sh runs the suite in two lanes (the files that need the test stack, and beside them the checks and the
// files that need none), each its own run of node's test runner with its own summary. This file is both halves of the
// line the log ends with:
//   - as a reporter (`--test-reporter=./test/helpers/lane-counts.mjs`), it writes a lane's summary counts, the
//     runner's own closing diagnostics ("tests 2057", "pass 2057", …), and the tests that failed (name, file, line;
//     the first 50) as one JSON object to its destination;
//   - run as a script (`node test/helpers/lane-counts.mjs --since MS FILE…`), it lists every lane's failing tests
//     (each lane's own list is in the middle of the log), then prints the lanes' counts added up in the form node's
//     runner prints one run's, the duration being the wall time since MS, and says which lane left no counts
//     (stopped before its summary: its log above says why).
// Checked by test/unit/scripts/lane-counts.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The runner's summary lines, in the order it prints them. */
export const COUNT_NAMES = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
const SUMMARY_LINE = new RegExp(`^(${COUNT_NAMES.join('|')}) (\\d+(?:\\.\\d+)?)$`);

/** At most this many failing tests are named per lane (the log above has every one). */
export const MAX_FAILURES_NAMED = 50;

/** A lane's counts from its closing diagnostics; `null` when the run printed no summary. */
export function countsOf(messages) {
  const counts = {};
  for (const message of messages) {
    const match = SUMMARY_LINE.exec(message);
    if (match) counts[match[1]] = Number(match[2]);
  }
  return COUNT_NAMES.every((name) => name in counts) ? counts : null;
}

/** The summary lines of lanes added up; `wallMs` replaces the summed durations (the lanes ran side by side). */
export function combinedSummary(lanes, wallMs) {
  const ran = lanes.filter((lane) => lane !== null);
  return COUNT_NAMES.map((name) => {
    const value = name === 'duration_ms' ? wallMs : ran.reduce((sum, lane) => sum + lane[name], 0);
    return `ℹ ${name} ${value}`;
  });
}

/** A failing test's line: its own failure, not a suite's or a parent's whose subtests failed. */
export function failureOf(data) {
  if (data.details?.type === 'suite' || data.details?.error?.failureType === 'subtestsFailed') return undefined;
  return { name: data.name, file: data.file, line: data.line };
}

export default async function* laneCountsReporter(source) {
  const messages = [];
  const failures = [];
  let unnamed = 0;
  for await (const event of source) {
    if (event.type === 'test:diagnostic' && event.data.nesting === 0) messages.push(event.data.message);
    const failure = event.type === 'test:fail' ? failureOf(event.data) : undefined;
    if (failure && failures.length < MAX_FAILURES_NAMED) failures.push(failure);
    else if (failure) unnamed += 1;
  }
  const counts = countsOf(messages);
  yield `${JSON.stringify(counts === null ? null : { ...counts, failures, unnamed })}\n`;
}

/** `✖ name (file:line)` for each lane's failing tests, files relative to `root`. */
export function failureLines(lanes, root) {
  return lanes.flatMap((lane) => {
    if (lane === null) return [];
    const named = (lane.failures ?? []).map((failure) => {
      const where = failure.file ? ` (${path.relative(root, failure.file)}:${failure.line})` : '';
      return `✖ ${failure.name}${where}`;
    });
    return lane.unnamed > 0 ? [...named, `✖ … and ${lane.unnamed} more (the log above names them)`] : named;
  });
}

function main(argv) {
  const since = argv[0] === '--since' ? Number(argv[1]) : NaN;
  const files = argv.slice(2);
  if (!Number.isFinite(since) || files.length === 0) {
    console.error('usage: node test/helpers/lane-counts.mjs --since EPOCH_MS COUNTS_FILE…');
    return 2;
  }
  const lanes = files.map((file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8') || 'null') : null));
  const missing = files.filter((_, i) => lanes[i] === null);
  const failures = failureLines(lanes, process.cwd());
  if (failures.length > 0) console.log(['✖ failing tests, every lane:', ...failures].join('\n'));
  console.log(
    `ℹ the ${files.length} lanes together${missing.length > 0 ? ` (${missing.length} stopped before its summary)` : ''}:`,
  );
  for (const line of combinedSummary(lanes, Date.now() - since)) console.log(line);
  return missing.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exitCode = main(process.argv.slice(2));
