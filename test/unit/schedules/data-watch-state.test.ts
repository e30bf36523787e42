import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  INITIAL_DATA_WATCH_STATE,
  replayDataWatch,
  runIdForDataVersion,
  runIdForRestart,
  stepDataWatch,
  type DataWatchAction,
  type DataWatchEvent,
} from '../../../src/core/schedules/data-watch-state';

const queue = { debounceMs: 10_000, overlap: 'queue' as const };
const skip = { debounceMs: 10_000, overlap: 'skip' as const };

/** Observations every `pollMs` of the given versions, starting at t=0. */
function polls(versions: readonly string[], pollMs = 5000, startMs = 0): DataWatchEvent[] {
  return versions.map((version, i) => ({
    type: 'observed',
    version,
    count: version === 'empty' ? 0 : 1,
    atMs: startMs + i * pollMs,
  }));
}

void describe('data watch state machine', () => {
  void it('the first observation is the baseline: no run; no change, no run', () => {
    assert.deepEqual(replayDataWatch(polls(['A', 'A', 'A', 'A', 'A']), queue).started, []);
  });

  void it('a new version starts one run once it stayed unchanged for the debounce', () => {
    // A at 0; B seen at 5s; still B at 10s (5s < debounce), 15s (10s = debounce) → run.
    const { started, state } = replayDataWatch(polls(['A', 'B', 'B', 'B', 'B', 'B']), queue);
    assert.deepEqual(started, ['B']);
    assert.equal(state.runningVersion, 'B');
    assert.equal(state.runsStarted, 1);
  });

  void it('does not start before the debounce has passed', () => {
    assert.deepEqual(replayDataWatch(polls(['A', 'B', 'B']), queue).started, []);
  });

  void it('a burst of uploads (a version per poll) gives one run, for the final version', () => {
    const { started } = replayDataWatch(polls(['A', 'B', 'C', 'D', 'E', 'E', 'E', 'E']), queue);
    assert.deepEqual(started, ['E']);
  });

  void it('reports when to check again: the end of the debounce window', () => {
    const first = stepDataWatch(INITIAL_DATA_WATCH_STATE, { type: 'observed', version: 'A', count: 1, atMs: 0 }, queue);
    const second = stepDataWatch(first.state, { type: 'observed', version: 'B', count: 1, atMs: 3000 }, queue);
    assert.equal(second.recheckAtMs, 13_000);
    const third = stepDataWatch(second.state, { type: 'observed', version: 'B', count: 1, atMs: 13_000 }, queue);
    assert.deepEqual(third.actions, [{ type: 'start-run', version: 'B' }]);
  });

  void it('a version that reverts to the handled one starts nothing', () => {
    assert.deepEqual(replayDataWatch(polls(['A', 'B', 'A', 'A', 'A', 'A']), queue).started, []);
  });

  void it('queue: a version ready during a run starts when the run ends; only the newest waits', () => {
    const events: DataWatchEvent[] = [
      ...polls(['A', 'B', 'B', 'B']),
      ...polls(['C', 'C', 'C', 'D', 'D', 'D', 'D'], 5000, 20_000),
      { type: 'run-finished', version: 'B', atMs: 60_000 },
    ];
    const { started, state } = replayDataWatch(events, queue);
    assert.deepEqual(started, ['B', 'D']);
    assert.equal(state.runningVersion, 'D');
    assert.equal(state.queuedVersion, undefined);
  });

  void it('skip: a version ready during a run is dropped, and starts nothing afterwards', () => {
    const events: DataWatchEvent[] = [
      ...polls(['A', 'B', 'B', 'B']),
      ...polls(['C', 'C', 'C', 'C'], 5000, 20_000),
      { type: 'run-finished', version: 'B', atMs: 40_000 },
      ...polls(['C', 'C', 'C'], 5000, 45_000),
    ];
    assert.deepEqual(replayDataWatch(events, skip).started, ['B']);
  });

  void it('a finished run with nothing queued leaves the watcher idle; the next version runs', () => {
    const events: DataWatchEvent[] = [
      ...polls(['A', 'B', 'B', 'B']),
      { type: 'run-finished', version: 'B', atMs: 16_000 },
      ...polls(['C', 'C', 'C'], 5000, 20_000),
    ];
    assert.deepEqual(replayDataWatch(events, queue).started, ['B', 'C']);
  });

  void it('an emptied prefix starts nothing, and the next upload is new data', () => {
    assert.deepEqual(replayDataWatch(polls(['A', 'empty', 'empty', 'empty', 'B', 'B', 'B']), queue).started, ['B']);
  });

  void it('minObjects: a version needs that many more objects than the last handled one', () => {
    const at = (version: string, count: number, atMs: number): DataWatchEvent => ({
      type: 'observed',
      version,
      count,
      atMs,
    });
    const config = { debounceMs: 0, overlap: 'queue' as const, minObjects: 3 };
    // Baseline 10 objects; 11 and 12 are not enough; 13 is; after that the bar is 16.
    const { started } = replayDataWatch(
      [
        at('A', 10, 0),
        at('B', 11, 1),
        at('C', 12, 2),
        at('D', 13, 3),
        { type: 'run-finished', version: 'D', atMs: 4 },
        at('E', 15, 5),
        at('F', 16, 6),
      ],
      config,
    );
    assert.deepEqual(started, ['D', 'F']);
    // minObjects 1: an object overwritten in place (same count) is a new version.
    assert.deepEqual(
      replayDataWatch([at('A', 5, 0), at('B', 5, 1)], { debounceMs: 0, overlap: 'queue', minObjects: 1 }).started,
      ['B'],
    );
  });

  void it('zero debounce starts on the first observation of a new version', () => {
    assert.deepEqual(replayDataWatch(polls(['A', 'B']), { debounceMs: 0, overlap: 'queue' }).started, ['B']);
  });

  void it('the state carries across continue-as-new (replaying in two halves = in one go)', () => {
    const events = polls(['A', 'B', 'B', 'C', 'C', 'C', 'C', 'D']);
    const whole = replayDataWatch(events, queue);
    const firstHalf = replayDataWatch(events.slice(0, 4), queue);
    const carried = JSON.parse(JSON.stringify(firstHalf.state)) as typeof firstHalf.state;
    const secondHalf = replayDataWatch(events.slice(4), queue, carried);
    assert.deepEqual([...firstHalf.started, ...secondHalf.started], whole.started);
    assert.deepEqual(secondHalf.state, whole.state);
  });

  void it('property: never two runs at once, never the same version twice in a row, no run without a change', () => {
    const versions = fc.constantFrom('A', 'B', 'C', 'empty');
    const event = fc.oneof(
      fc.record({
        type: fc.constant('observed' as const),
        version: versions,
        gapMs: fc.integer({ min: 0, max: 20_000 }),
      }),
      fc.record({ type: fc.constant('run-finished' as const), gapMs: fc.integer({ min: 0, max: 20_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), fc.constantFrom(queue, skip), (script, config) => {
        let state = INITIAL_DATA_WATCH_STATE;
        let now = 0;
        let lastStarted: string | undefined;
        const observedVersions = new Set<string>();
        for (const step of script) {
          now += step.gapMs;
          const input: DataWatchEvent =
            step.type === 'observed'
              ? { type: 'observed', version: step.version, count: step.version === 'empty' ? 0 : 1, atMs: now }
              : { type: 'run-finished', version: state.runningVersion ?? 'none', atMs: now };
          const wasRunning = state.runningVersion !== undefined;
          const result = stepDataWatch(state, input, config);
          assert.ok(result.actions.length <= 1);
          for (const action of result.actions) {
            assert.ok(!wasRunning || input.type === 'run-finished', 'a run started while another was going');
            assert.notEqual(action.version, 'empty');
            assert.notEqual(action.version, lastStarted);
            assert.ok(observedVersions.has(action.version) || input.type === 'observed');
            lastStarted = action.version;
          }
          if (input.type === 'observed') observedVersions.add(input.version);
          state = result.state;
        }
      }),
    );
  });

  void it('run ids derive from the watcher and the fingerprint', () => {
    assert.equal(
      runIdForDataVersion('fineflow-defects-newdata-1a2b3c4d', 'f'.repeat(64)),
      `fineflow-defects-newdata-1a2b3c4d-${'f'.repeat(16)}`,
    );
  });
});

void describe('reverts, manual triggers and counters (issue 19)', () => {
  const finished = (version: string, atMs: number, started?: boolean): DataWatchEvent => ({
    type: 'run-finished',
    version,
    atMs,
    ...(started === false ? { started } : {}),
  });
  // A ran, B ran, then B's objects were deleted: the prefix is A again.
  const events: DataWatchEvent[] = [
    ...polls(['base', 'A', 'A', 'A']),
    finished('A', 16_000),
    ...polls(['B', 'B', 'B'], 5000, 20_000),
    finished('B', 31_000),
    ...polls(['A', 'A', 'A'], 5000, 40_000),
  ];

  void it('a return to a version that ran is recorded, and not run again by default', () => {
    const { started, state } = replayDataWatch(events, queue);
    assert.deepEqual(started, ['A', 'B']);
    assert.equal(state.runsStarted, 2);
    assert.equal(state.reverts, 1);
    assert.deepEqual(state.lastRevert, { version: 'A', from: 'B', atMs: 40_000, retrained: false });
    assert.equal(state.handledVersion, 'A');
  });

  void it('onRevert: retrain runs it again, as a run of its own kind', () => {
    let state = INITIAL_DATA_WATCH_STATE;
    const actions: DataWatchAction[] = [];
    for (const event of events) {
      const step = stepDataWatch(state, event, { ...queue, onRevert: 'retrain' });
      state = step.state;
      actions.push(...step.actions);
    }
    assert.deepEqual(actions, [
      { type: 'start-run', version: 'A' },
      { type: 'start-run', version: 'B' },
      { type: 'start-run', version: 'A', kind: 'revert' },
    ]);
    assert.equal(state.runsStarted, 3);
    assert.equal(state.lastRevert?.retrained, true);
  });

  void it('without revert detection (histories from before it) the old decision stands', () => {
    assert.deepEqual(replayDataWatch(events, { ...queue, detectReverts: false }).started, ['A', 'B', 'A']);
  });

  void it('a revert under minObjects > 1 (fewer objects) still counts as one', () => {
    const withCounts = events.map((e) =>
      e.type === 'observed' ? { ...e, count: e.version === 'B' ? 30 : e.version === 'A' ? 20 : 10 } : e,
    );
    const { state } = replayDataWatch(withCounts, { ...queue, minObjects: 5 });
    assert.equal(state.reverts, 1);
  });

  void it('a start Temporal refused is taken back from the counter', () => {
    const { state } = replayDataWatch([...polls(['base', 'A', 'A', 'A']), finished('A', 16_000, false)], queue);
    assert.equal(state.runsStarted, 0);
    assert.equal(state.runningVersion, undefined);
  });

  void it('a manual trigger runs the current version now, or after the going run', () => {
    const idle = stepDataWatch(
      replayDataWatch(polls(['base']), queue).state,
      { type: 'triggered', version: 'base', count: 1, atMs: 1 },
      queue,
    );
    assert.deepEqual(idle.actions, [{ type: 'start-run', version: 'base', kind: 'manual' }]);
    const busy = stepDataWatch(idle.state, { type: 'triggered', version: 'base', count: 1, atMs: 2 }, skip);
    assert.deepEqual(busy.actions, [], 'waits: a run is going');
    assert.equal(busy.state.queuedManual, true);
    const after = stepDataWatch(busy.state, finished('base', 3), skip);
    assert.deepEqual(after.actions, [{ type: 'start-run', version: 'base', kind: 'manual' }]);
    assert.equal(after.state.runsStarted, 2);
  });

  void it('restart run ids are unique per start', () => {
    assert.notEqual(
      runIdForRestart('w', 'v'.repeat(64), 'manual', 1000),
      runIdForRestart('w', 'v'.repeat(64), 'manual', 1001),
    );
    assert.match(runIdForRestart('w', 'a'.repeat(64), 'revert', 5), /^w-a{16}-revert-5$/);
  });
});

void describe('an empty look records no version (session 18)', () => {
  void it('an empty baseline is no version; the first data starts exactly one run', () => {
    const baseline = replayDataWatch(polls(['empty', 'empty']), queue);
    assert.deepEqual(baseline.state, { runsStarted: 0, handledCount: 0 });
    const { state, started } = replayDataWatch(polls(['empty', 'empty', 'A', 'A', 'A', 'A', 'A']), queue);
    assert.deepEqual(started, ['A']);
    assert.equal(state.handledVersion, 'A');
  });

  void it('an emptied prefix drops the handled version; a return to a version that ran is from nothing', () => {
    const events = [
      ...polls(['base', 'A', 'A', 'A']),
      { type: 'run-finished', version: 'A', atMs: 16_000 } as const,
      ...polls(['empty', 'empty', 'A', 'A', 'A'], 5000, 20_000),
    ];
    const emptied = replayDataWatch(events.slice(0, 6), queue).state;
    assert.equal(emptied.handledVersion, undefined);
    assert.equal(emptied.handledCount, 0);
    const back = replayDataWatch(events, queue).state;
    assert.equal(back.lastRevert?.version, 'A');
    assert.equal(back.lastRevert?.from, undefined, 'not from the id of no objects');
    // Histories recorded before it keep recording that id.
    const old = replayDataWatch(events, { ...queue, emptyHasNoVersion: false }).state;
    assert.equal(old.lastRevert?.from, 'empty');
  });

  void it('property: every decision is the one the id of no objects gave, and no state names it', () => {
    const versions = fc.constantFrom('A', 'B', 'C', 'empty');
    const event = fc.oneof(
      fc.record({
        type: fc.constant('observed' as const),
        version: versions,
        gapMs: fc.integer({ min: 0, max: 20_000 }),
      }),
      fc.record({
        type: fc.constant('triggered' as const),
        version: versions,
        gapMs: fc.integer({ min: 0, max: 20_000 }),
      }),
      fc.record({ type: fc.constant('run-finished' as const), gapMs: fc.integer({ min: 0, max: 20_000 }) }),
    );
    const configs = fc.record({
      debounceMs: fc.constantFrom(0, 10_000),
      overlap: fc.constantFrom('queue' as const, 'skip' as const),
      minObjects: fc.constantFrom(1, 2),
      onRevert: fc.constantFrom('ignore' as const, 'retrain' as const),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), configs, (script, config) => {
        let now = 0;
        let next = INITIAL_DATA_WATCH_STATE;
        let old = INITIAL_DATA_WATCH_STATE;
        for (const step of script) {
          now += step.gapMs;
          const count = step.type !== 'run-finished' && step.version !== 'empty' ? 1 + (now % 3) : 0;
          const input = (running: string | undefined): DataWatchEvent =>
            step.type === 'run-finished'
              ? { type: 'run-finished', version: running ?? 'none', atMs: now }
              : { type: step.type, version: step.version, count, atMs: now };
          // The workflow ignores a trigger on an empty prefix.
          if (step.type === 'triggered' && count === 0) continue;
          const a = stepDataWatch(next, input(next.runningVersion), config);
          const b = stepDataWatch(old, input(old.runningVersion), { ...config, emptyHasNoVersion: false });
          assert.deepEqual(a.actions, b.actions);
          assert.equal(a.recheckAtMs, b.recheckAtMs);
          next = a.state;
          old = b.state;
          assert.doesNotMatch(JSON.stringify(next), /"empty"/);
        }
      }),
    );
  });
});
