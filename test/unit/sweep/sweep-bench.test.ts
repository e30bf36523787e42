import assert from 'node:assert/strict';
import { it } from 'node:test';
import { benchSweep } from '../../../bench/sweep-bench';

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
