import assert from 'node:assert/strict';
import { it } from 'node:test';
import { benchSweep, simulatedSweepConfig } from '../../../bench/sweep-bench';

void it('TPE + ASHA needs at most half the epochs of random search without stopping (simulated curves, median of 5 seeds)', async () => {
  const lines: string[] = [];
  const result = await benchSweep({ log: (line) => lines.push(line) });
  assert.equal(result.simulated, true);
  assert.equal(result.tpeAsha.length, 5);
  assert.ok(
    result.tpeAsha.every((run) => run.reached),
    'TPE + ASHA reached the target on every seed',
  );
  assert.ok(result.ratio <= 0.5, lines.join('\n'));
  assert.ok(lines.some((line) => line.includes('SIMULATED')));
});

void it('the simulated TPE+ASHA is the ASHA a sweep stage gets by default (promotion-based); the stopping-based one runs beside it', async () => {
  const settings = { target: 0.96, epochsPerTrial: 27, parallelism: 4, maxTrials: 300 };
  const stopping = (kind: 'asha' | 'asha-stopping' | 'none') =>
    simulatedSweepConfig('tpe', kind, 1, settings).earlyStopping as { type: string; promotion?: boolean };
  assert.equal(stopping('asha').promotion, true, 'the default a fine-tune sweep stage gets (sweep-plan.ts)');
  assert.equal(stopping('asha-stopping').promotion, undefined, 'promotion: false parses to the stopping-based ASHA');
  assert.equal(stopping('none').type, 'none');
  const lines: string[] = [];
  const result = await benchSweep({ log: (line) => lines.push(line) });
  assert.equal(result.tpeAshaStopping.length, 5);
  assert.ok(
    result.tpeAsha.some((run, i) => run.epochs !== result.tpeAshaStopping[i]?.epochs),
    'promotion and stopping-based ASHA are different runs',
  );
  assert.ok(
    lines.some((line) => line.startsWith('  tpe+asha stopping-based')),
    lines.join('\n'),
  );
});
