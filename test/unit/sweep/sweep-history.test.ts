import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSearchSpace } from '../../../src/core/sweep/space';
import {
  describeHistoryRecord,
  describeHistoryRecords,
  SWEEP_HISTORY_FORMAT,
  SWEEP_HISTORY_LIMITS,
  sweepHistoryRecord,
  warmStartFromHistory,
  warmStartLine,
  type SweepHistoryObject,
  type SweepHistoryRecord,
  type SweepHistorySubject,
} from '../../../src/core/sweep/sweep-history';
import type { RecordedResultsTable } from '../../../src/core/sweep/sweep-types';

const space = parseSearchSpace({
  learningRate: { logUniform: [1e-4, 1e-1] },
  batchSize: { choice: [16, 32] },
  layers: { int: { low: 1, high: 5, step: 2 } },
});
const subject: SweepHistorySubject = {
  space,
  objective: { metric: 'validation.accuracy', goal: 'maximize' },
  epochsPerTrial: 4,
};
const expected = { ...subject, pipeline: 'digits', stage: 'sweep' };
const settings = { sweeps: 5, maxTrials: 200 };
const params = { batchSize: 16, layers: 3, learningRate: 0.01 };

function table(rows: RecordedResultsTable['rows']): RecordedResultsTable {
  return {
    metric: 'validation.accuracy',
    goal: 'maximize',
    algorithm: 'tpe',
    earlyStopping: 'asha',
    rungEpochs: [1, 2],
    rows,
  };
}

function record(overrides: Partial<Record<keyof SweepHistoryRecord, unknown>> = {}): Record<string, unknown> {
  return {
    format: SWEEP_HISTORY_FORMAT,
    pipeline: 'digits',
    stage: 'sweep',
    runId: 'run-1',
    attempt: 1,
    endedAt: '2026-12-05T18:00:00.000Z',
    outcome: 'completed',
    ...subject,
    trials: [
      { trialId: 0, params, status: 'completed', value: 0.8, epochs: 4 },
      { trialId: 1, params: { ...params, learningRate: 0.001 }, status: 'stopped', value: 0.4, epochs: 1 },
    ],
    omittedTrials: 0,
    ...overrides,
  };
}

function object(value: unknown, name = 'r.json'): SweepHistoryObject {
  return { name, text: typeof value === 'string' ? value : JSON.stringify(value) };
}

describe('sweep history record', () => {
  it('keeps finished trials with a finite value, never running, cancelled or failed ones', () => {
    const written = sweepHistoryRecord(
      {
        pipeline: 'digits',
        stage: 'sweep',
        runId: 'r',
        attempt: 2,
        endedAt: '2026-12-05T18:00:00.000Z',
        outcome: 'cancelled',
      },
      subject,
      table([
        { trialId: 0, params, status: 'completed', value: 0.9, metricByEpoch: [], epochs: 4 },
        { trialId: 1, params, status: 'stopped', value: 0.3, metricByEpoch: [], epochs: 1 },
        { trialId: 2, params, status: 'failed', metricByEpoch: [], error: 'boom' },
        { trialId: 3, params, status: 'cancelled', value: 0.5, metricByEpoch: [], epochs: 2 },
        { trialId: 4, params, status: 'stopped', metricByEpoch: [] },
        { trialId: 5, params, status: 'completed', value: 0.7, metricByEpoch: [] },
      ]),
    );
    assert.equal(written.format, SWEEP_HISTORY_FORMAT);
    assert.equal(written.outcome, 'cancelled');
    assert.deepEqual(
      written.trials.map((trial) => [trial.trialId, trial.status, trial.value, trial.epochs]),
      [
        [0, 'completed', 0.9, 4],
        [1, 'stopped', 0.3, 1],
        [5, 'completed', 0.7, 4], // no epochs recorded: the trial's budget
      ],
    );
    assert.equal(written.omittedTrials, 0);
    assert.deepEqual(written.space, space);
  });

  it('keeps the newest trials within the trial and byte caps, counting what it left out', () => {
    const many = Array.from({ length: 1_500 }, (_, trialId) => ({
      trialId,
      params: { ...params, note: 'x'.repeat(2_000) },
      status: 'completed' as const,
      value: trialId / 1_500,
      metricByEpoch: [],
      epochs: 4,
    }));
    const written = sweepHistoryRecord(
      { pipeline: 'p', stage: 's', runId: 'r', attempt: 1, endedAt: '2026-12-05T18:00:00.000Z', outcome: 'completed' },
      subject,
      table(many),
    );
    assert.ok(new TextEncoder().encode(JSON.stringify(written)).length <= SWEEP_HISTORY_LIMITS.recordBytes);
    assert.ok(written.trials.length > 0 && written.trials.length < SWEEP_HISTORY_LIMITS.trialsPerRecord);
    assert.equal(written.omittedTrials + written.trials.length, 1_500);
    assert.equal(written.trials.at(-1)?.trialId, 1_499, 'the newest trial is kept');
  });
});

describe('warm start from history (untrusted records)', () => {
  it('reads a written record back into prior trials', () => {
    const written = sweepHistoryRecord(
      {
        pipeline: 'digits',
        stage: 'sweep',
        runId: 'r',
        attempt: 1,
        endedAt: '2026-12-05T18:00:00.000Z',
        outcome: 'completed',
      },
      subject,
      table([{ trialId: 0, params, status: 'completed', value: 0.9, metricByEpoch: [], epochs: 4 }]),
    );
    const warm = warmStartFromHistory([object(written)], expected, settings);
    assert.deepEqual(warm.priorTrials, [{ params, status: 'completed', value: 0.9, epochs: 4 }]);
    assert.deepEqual(warm.summary, { sweeps: 1, trials: 1, ignored: 0, reasons: [] });
    assert.equal(warmStartLine(warm.summary), 'warm start: 1 trial from 1 earlier sweep');
  });

  it('takes the newest records and trials first, up to maxTrials and the number of sweeps', () => {
    const newer = record({
      trials: [0, 1, 2].map((trialId) => ({
        trialId,
        params,
        status: 'completed',
        value: 0.5 + trialId / 10,
        epochs: 4,
      })),
    });
    const older = record({ trials: [{ trialId: 0, params, status: 'completed', value: 0.1, epochs: 4 }] });
    const oldest = record({ trials: [{ trialId: 0, params, status: 'completed', value: 0.05, epochs: 4 }] });
    const warm = warmStartFromHistory([object(newer), object(older), object(oldest)], expected, {
      sweeps: 2,
      maxTrials: 3,
    });
    assert.deepEqual(
      warm.priorTrials.map((trial) => trial.value),
      [0.7, 0.6, 0.5],
    );
    assert.deepEqual(warm.summary, {
      sweeps: 1,
      trials: 3,
      ignored: 1,
      reasons: ['over warmStart.maxTrials (3) (1)'],
    });
    assert.equal(
      warmStartLine(warm.summary),
      'warm start: 3 trials from 1 earlier sweep, 1 ignored: over warmStart.maxTrials (3) (1)',
    );
  });

  it('ignores whole records that are not JSON, of another format, objective, goal, budget or stage', () => {
    const objects: SweepHistoryObject[] = [
      object('{"format": "fineflow-sweep-history/v1", "trials": [', 'a.json'),
      object('null', 'b.json'),
      object(record({ format: 'fineflow-sweep-history/v9' }), 'c.json'),
      object(record({ objective: { metric: 'validation.loss', goal: 'minimize' } }), 'd.json'),
      object(record({ objective: { metric: 'validation.accuracy', goal: 'minimize' } }), 'e.json'),
      object(record({ epochsPerTrial: 10 }), 'f.json'),
      object(record({ pipeline: 'other' }), 'g.json'),
      object(record({ trials: { 0: {} } }), 'h.json'),
      { name: 'i.json', unreadable: '5000000 bytes, more than a record may hold (1048576)' },
      object(record()),
    ];
    const warm = warmStartFromHistory(objects, expected, { sweeps: 20, maxTrials: 100 });
    assert.equal(warm.priorTrials.length, 2);
    assert.equal(warm.summary.sweeps, 1);
    assert.equal(warm.summary.ignored, 9);
    const reasons = warm.summary.reasons.join('\n');
    for (const expectedReason of [
      /sweep a\.json: not JSON \(1\)/,
      /sweep b\.json: not a JSON object/,
      /sweep c\.json: format fineflow-sweep-history\/v9 is not one this version reads/,
      /sweep d\.json: objective validation\.loss \(minimize\) is not this sweep's validation\.accuracy \(maximize\)/,
      /sweep e\.json: objective validation\.accuracy \(minimize\)/,
      /sweep f\.json: trial budget 10 epochs is not this sweep's 4/,
      /sweep g\.json: recorded for other\/sweep, not digits\/sweep/,
      /sweep h\.json: trials is not a list/,
      /sweep i\.json: 5000000 bytes/,
    ])
      assert.match(reasons, expectedReason);
    assert.ok(warm.summary.reasons.length <= SWEEP_HISTORY_LIMITS.reasons);
  });

  it('drops trials that no longer fit the space, or carry NaN, Infinity, wrong types or extra keys', () => {
    const hostile = [
      { trialId: 0, params: { ...params, learningRate: 0.5 }, status: 'completed', value: 0.9, epochs: 4 },
      { trialId: 1, params: { ...params, layers: 2 }, status: 'completed', value: 0.9, epochs: 4 }, // off the step
      { trialId: 2, params: { ...params, batchSize: 64 }, status: 'completed', value: 0.9, epochs: 4 },
      { trialId: 3, params: { batchSize: 16, layers: 3 }, status: 'completed', value: 0.9, epochs: 4 },
      { trialId: 4, params: { ...params, dropout: 0.1 }, status: 'completed', value: 0.9, epochs: 4 },
      { trialId: 5, params, status: 'completed', value: 'NaN', epochs: 4 },
      { trialId: 6, params, status: 'completed', value: null, epochs: 4 }, // JSON's NaN/Infinity
      { trialId: 7, params, status: 'failed', value: 0.9, epochs: 4 },
      { trialId: 8, params, status: 'completed', value: 0.9, epochs: 0 },
      { trialId: 9, params, status: 'completed', value: 0.9, epochs: 2.5 },
      { trialId: 10, params: [16, 3, 0.01], status: 'completed', value: 0.9, epochs: 4 },
      { trialId: 11, params: { ...params, learningRate: '0.01' }, status: 'completed', value: 0.9, epochs: 4 },
      'trial',
      { trialId: 13, params, status: 'stopped', value: 0.2, epochs: 1 },
    ];
    const warm = warmStartFromHistory([object(record({ trials: hostile }))], expected, settings);
    assert.deepEqual(warm.priorTrials, [{ params, status: 'stopped', value: 0.2, epochs: 1 }]);
    assert.equal(warm.summary.ignored, 13);
    assert.equal(warm.summary.sweeps, 1);
    const reasons = warm.summary.reasons.join('\n');
    assert.match(reasons, /trial params\.learningRate is outside its domain \(2\)/);
    // Twelve distinct reasons, ten kept: the domain checks of batchSize and layers, alone.
    const domain = warmStartFromHistory([object(record({ trials: hostile.slice(1, 3) }))], expected, settings);
    assert.deepEqual(domain.summary.reasons, [
      'trial params.batchSize is outside its domain (1)',
      'trial params.layers is outside its domain (1)',
    ]);
    assert.match(reasons, /trial params\.learningRate is missing/);
    assert.match(reasons, /trial params\.dropout is not a parameter of the current space/);
    assert.match(reasons, /trial is not an object/);
    // JSON has no NaN or Infinity, but 1e999 parses as Infinity.
    const infinite = JSON.stringify(record()).replace('"value":0.8', '"value":1e999');
    const fromText = warmStartFromHistory([object(infinite)], expected, settings);
    assert.equal(fromText.priorTrials.length, 1);
    assert.match(fromText.summary.reasons.join('\n'), /trial value must be a finite number, got null \(1\)/);
  });

  it('never lets __proto__ keys reach a prior trial or the prototype chain', () => {
    const text =
      '{"format":"fineflow-sweep-history/v1","pipeline":"digits","stage":"sweep","objective":' +
      '{"metric":"validation.accuracy","goal":"maximize"},"epochsPerTrial":4,"__proto__":{"polluted":true},' +
      '"trials":[{"params":{"batchSize":16,"layers":3,"learningRate":0.01,"__proto__":{"x":1}},' +
      '"status":"completed","value":0.9,"epochs":4},' +
      '{"params":{"batchSize":16,"layers":3,"learningRate":0.01},"status":"completed","value":0.5,"epochs":4,' +
      '"__proto__":{"status":"completed"}}]}';
    const warm = warmStartFromHistory([{ name: 'p.json', text }], expected, settings);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    assert.deepEqual(warm.priorTrials, [{ params, status: 'completed', value: 0.5, epochs: 4 }]);
    assert.match(warm.summary.reasons.join('\n'), /params\.__proto__ is not a parameter of the current space/);
    for (const trial of warm.priorTrials) assert.equal(Object.getPrototypeOf(trial.params), Object.prototype);
  });

  it('refuses huge arrays and deeply nested values without throwing', () => {
    const huge = record({
      trials: Array.from({ length: SWEEP_HISTORY_LIMITS.trialsPerRecord + 1 }, () => ({ params, value: 1 })),
    });
    const deep = `{"format":"fineflow-sweep-history/v1","pipeline":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const deepParams = JSON.stringify(record()).replace(
      '"batchSize":16',
      `"batchSize":${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    );
    const oversized = ' '.repeat(SWEEP_HISTORY_LIMITS.recordBytes) + JSON.stringify(record());
    const warm = warmStartFromHistory(
      [
        object(huge, 'huge.json'),
        object(deep, 'deep.json'),
        object(deepParams, 'dp.json'),
        object(oversized, 'big.json'),
      ],
      expected,
      settings,
    );
    const reasons = warm.summary.reasons.join('\n');
    assert.match(reasons, /sweep huge\.json: 1001 trials, more than a record holds \(1000\)/);
    assert.match(reasons, /sweep deep\.json: (recorded for|fields too deeply nested|not JSON)/);
    assert.match(reasons, /sweep big\.json: larger than 1048576 bytes/);
    // The deeply nested parameter value is outside its domain (or cannot be compared): one ignored trial.
    assert.equal(warm.priorTrials.length, 1);
    assert.equal(warm.summary.ignored, 4);
  });

  it('says when nothing usable was found', () => {
    const warm = warmStartFromHistory([], expected, settings);
    assert.deepEqual(warm, { priorTrials: [], summary: { sweeps: 0, trials: 0, ignored: 0, reasons: [] } });
    assert.equal(
      warmStartLine(warm.summary),
      'warm start: no usable trials in earlier sweeps of this stage, the search starts cold',
    );
  });

  it('keeps the summary bounded however many distinct reasons there are', () => {
    const objects = Array.from({ length: 20 }, (_, i) =>
      object(record({ format: `v${i}-${'x'.repeat(500)}` }), `${i}.json`),
    );
    const warm = warmStartFromHistory(objects, expected, { sweeps: 20, maxTrials: 500 });
    assert.equal(warm.summary.ignored, 20);
    assert.equal(warm.summary.reasons.length, SWEEP_HISTORY_LIMITS.reasons);
    for (const reason of warm.summary.reasons) assert.ok(reason.length <= SWEEP_HISTORY_LIMITS.reasonLength, reason);
  });
});

describe('a history record described for a person (fineflow sweep-history)', () => {
  const where = { pipeline: 'digits', stage: 'sweep' };

  it('gives the best completed trial by the goal, never a stopped one', () => {
    const trials = [
      { trialId: 0, params, status: 'completed', value: 0.8, epochs: 4 },
      { trialId: 1, params: { ...params, layers: 5 }, status: 'stopped', value: 0.95, epochs: 1 },
      { trialId: 2, params: { ...params, layers: 1 }, status: 'completed', value: 0.85, epochs: 4 },
    ];
    const entry = describeHistoryRecord(object(record({ trials, omittedTrials: 3 })), where);
    assert.deepEqual(entry, {
      name: 'r.json',
      endedAt: '2026-12-05T18:00:00.000Z',
      runId: 'run-1',
      outcome: 'completed',
      objective: 'validation.accuracy (maximize)',
      epochsPerTrial: 4,
      trials: 3,
      omittedTrials: 3,
      best: { trialId: 2, value: 0.85, params: JSON.stringify({ ...params, layers: 1 }) },
    });
    const minimize = describeHistoryRecord(
      object(record({ trials, objective: { metric: 'validation.loss', goal: 'minimize' } })),
      where,
    );
    assert.equal('best' in minimize && minimize.best?.trialId, 0);
  });

  it('marks each record whose objective, trial budget or space differs from the newest readable one', () => {
    const otherSpace = parseSearchSpace({
      learningRate: { logUniform: [1e-3, 1e-1] },
      batchSize: { choice: [16, 32] },
      dropout: { uniform: [0, 0.5] },
    });
    const entries = describeHistoryRecords(
      [
        object('{not json', 'e.json'),
        object(record({ runId: 'newest' }), 'd.json'),
        object(record({ runId: 'same' }), 'c.json'),
        object(record({ objective: { metric: 'validation.loss', goal: 'minimize' }, epochsPerTrial: 6 }), 'b.json'),
        object(record({ space: otherSpace }), 'a.json'),
        object(record({ space: 'x'.repeat(500) }), '0.json'),
      ],
      where,
    );
    const differences = entries.map((entry) => ('problem' in entry ? 'unread' : entry.differsFromNewest));
    assert.deepEqual(differences, [
      'unread',
      undefined,
      [],
      ['objective validation.loss (minimize)', 'trial budget 6 epochs'],
      ['space: dropout, learningRate, layers'],
      ['space: not a list of parameters'],
    ]);
  });

  it('has no best when no trial completed', () => {
    const entry = describeHistoryRecord(
      object(record({ trials: [{ trialId: 0, params, status: 'stopped', value: 0.9, epochs: 1 }] })),
      where,
    );
    assert.ok(!('problem' in entry));
    assert.equal(entry.best, undefined);
  });

  it('reads hostile objects as a warm start does: a reason, never a throw', () => {
    const problems = [
      object('{not json'),
      object([1, 2]),
      object(record({ format: 'other/v9' })),
      object(record({ stage: 'another' })),
      object(record({ trials: 'many' })),
      object(record({ trials: Array.from({ length: SWEEP_HISTORY_LIMITS.trialsPerRecord + 1 }, () => ({})) })),
      object(`"${'x'.repeat(SWEEP_HISTORY_LIMITS.recordBytes)}"`),
      { name: 'gone.json', unreadable: 'removed while it was being read' },
    ].map((o) => describeHistoryRecord(o, where));
    for (const entry of problems) assert.ok('problem' in entry, JSON.stringify(entry).slice(0, 200));
    assert.deepEqual(
      problems.map((entry) => ('problem' in entry ? entry.problem.split(' ').slice(0, 2).join(' ') : '')),
      [
        'not JSON',
        'not a',
        'format other/v9',
        'recorded for',
        'trials is',
        `${SWEEP_HISTORY_LIMITS.trialsPerRecord + 1} trials,`,
        'larger than',
        'removed while',
      ],
    );
  });

  it('shortens what a record says and ignores fields of the wrong type', () => {
    const entry = describeHistoryRecord(
      object(
        record({
          runId: 'r'.repeat(500),
          outcome: { evil: true },
          epochsPerTrial: 'four',
          omittedTrials: '7',
          trials: [{ trialId: 'x', params: { a: 'y'.repeat(1000) }, status: 'completed', value: 1, epochs: 1 }],
        }),
      ),
      where,
    );
    assert.ok(!('problem' in entry));
    assert.ok(entry.runId.length <= 60);
    assert.equal(entry.outcome, '{"evil":true}');
    assert.equal(entry.epochsPerTrial, undefined);
    assert.equal(entry.omittedTrials, 0);
    assert.equal(entry.best?.trialId, undefined);
    assert.ok((entry.best?.params.length ?? 0) <= SWEEP_HISTORY_LIMITS.reasonLength);
  });
});
