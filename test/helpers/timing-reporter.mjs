// A node --test reporter for measuring the suite (scripts/test.sh adds it when FINEFLOW_TEST_TIMINGS=FILE):
// one JSON line per test file, {file, fileMs, testsMs, tests}, where fileMs is the file's whole time (process
// start-up, imports, hooks, tests) and testsMs the sum of its top-level tests' durations. In node 20 a file's
// top-level `before` hooks count in its first test's duration; test/helpers/hook-timing.mjs times them apart.
const topLevel = new Map();

export default async function* timingReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail' && event.type !== 'test:complete') continue;
    const { name, nesting, file, details } = event.data;
    if (nesting !== 0) continue;
    if (event.type === 'test:complete' && (file === undefined || file === name) && /\.test\.[cm]?[jt]s$/.test(name)) {
      const tests = topLevel.get(name) ?? { ms: 0, count: 0 };
      topLevel.delete(name);
      const fileMs = Math.round(details.duration_ms);
      yield `${JSON.stringify({ file: name, fileMs, testsMs: Math.round(tests.ms), tests: tests.count })}\n`;
    } else if (event.type !== 'test:complete' && file !== undefined) {
      const tests = topLevel.get(file) ?? { ms: 0, count: 0 };
      tests.ms += details.duration_ms;
      tests.count += 1;
      topLevel.set(file, tests);
    }
  }
}
