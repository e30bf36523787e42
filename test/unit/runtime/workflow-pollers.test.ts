import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveWorkflowPollers, WORKFLOW_POLLER_GONE_AFTER_MS } from '../../../src/client/worker-presence';

const NOW = 1_800_000_000_000;
const alive = new Set([100]);
const count = (pollers: Parameters<typeof liveWorkflowPollers>[0]): number =>
  liveWorkflowPollers(pollers, NOW, WORKFLOW_POLLER_GONE_AFTER_MS, 'here', (pid) => alive.has(pid));

void describe('which pollers of a run’s workflow queue are live', () => {
  void it('an idle worker seen up to a long poll ago is live, wherever it runs', () => {
    // An idle worker's poll is seen again every ~60 s (Temporal answers its long poll empty after a minute).
    assert.equal(count([{ identity: 'control@elsewhere:7 [capacity cpu=2]', lastAccessMs: NOW - 61_000 }]), 1);
    assert.equal(count([{ identity: 'control@here:100', lastAccessMs: NOW - 61_000 }]), 1);
  });

  void it('a poller older than a long poll and a margin is gone, though Temporal lists it for minutes', () => {
    assert.equal(count([{ identity: 'control@elsewhere:7', lastAccessMs: NOW - 71_000 }]), 0);
    assert.equal(count([{ identity: 'control@here:100', lastAccessMs: NOW - 71_000 }]), 0);
  });

  void it('a worker of this host whose process ended is gone at once', () => {
    assert.equal(count([{ identity: 'control@here:101 [capacity cpu=2]', lastAccessMs: NOW - 1_000 }]), 0);
    assert.equal(
      count([
        { identity: 'control@here:101', lastAccessMs: NOW - 1_000 },
        { identity: 'control@here:100', lastAccessMs: NOW - 30_000 },
      ]),
      1,
    );
  });

  void it('a poller with no time or an identity of its own is judged by what is known', () => {
    assert.equal(count([{ identity: 'my-worker' }]), 1);
    assert.equal(count([{ identity: 'my-worker', lastAccessMs: NOW - 80_000 }]), 0);
  });
});
