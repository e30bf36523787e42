// scripts/test.sh runs the suite in two lanes (the files that need the test stack, and beside them the checks and the
// files that need none), each its own run of node's test runner with its own summary. This file is both halves of the
// line the log ends with:
//   - as a reporter (`--test-reporter=./test/helpers/lane-counts.mjs`), it writes a lane's summary counts, the
//     runner's own closing diagnostics ("tests 2057", "pass 2057", …), as one JSON object to its destination;
//   - run as a script (`node test/helpers/lane-counts.mjs --since MS FILE…`), it prints the lanes' counts added up in
//     the form node's runner prints one run's, the duration being the wall time since MS, and says which lane left no
//     counts (stopped before its summary: its log above says why).
// Checked by test/unit/scripts/lane-counts.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The runner's summary lines, in the order it prints them. */
export const COUNT_NAMES = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
const SUMMARY_LINE = new RegExp(`^(${COUNT_NAMES.join('|')}) (\\d+(?:\\.\\d+)?)$`);

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

export default async function* laneCountsReporter(source) {
  const messages = [];
  for await (const event of source) {
    if (event.type === 'test:diagnostic' && event.data.nesting === 0) messages.push(event.data.message);
  }
  yield `${JSON.stringify(countsOf(messages))}\n`;
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
  console.log(
    `ℹ the ${files.length} lanes together${missing.length > 0 ? ` (${missing.length} stopped before its summary)` : ''}:`,
  );
  for (const line of combinedSummary(lanes, Date.now() - since)) console.log(line);
  return missing.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exitCode = main(process.argv.slice(2));
