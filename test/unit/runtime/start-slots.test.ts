import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STAGE_START_BATCH, startSlots } from '../../../src/core/run/start-slots';

function takeAll(slots: { take(): boolean }, wanted: number): number {
  let taken = 0;
  for (let i = 0; i < wanted; i++) if (slots.take()) taken += 1;
  return taken;
}

void describe('start slots of one scheduling pass', () => {
  void it('starts at most a batch per workflow task and says the rest were deferred', () => {
    const slots = startSlots(Infinity, () => true);
    assert.equal(takeAll(slots, 1000), STAGE_START_BATCH);
    assert.equal(slots.deferred, true);
  });

  void it('a pass within the batch defers nothing and never asks for the patch', () => {
    let asked = 0;
    const slots = startSlots(Infinity, () => {
      asked += 1;
      return true;
    });
    assert.equal(takeAll(slots, STAGE_START_BATCH), STAGE_START_BATCH);
    assert.equal(slots.deferred, false);
    assert.equal(asked, 0, 'small runs record no patch marker');
  });

  void it('parallelism limits without deferring: the run waits for a stage to end, not for a new task', () => {
    const slots = startSlots(3, () => true);
    assert.equal(takeAll(slots, 10), 3);
    assert.equal(slots.deferred, false);
  });

  void it('parallelism below the batch but above what is left: the smaller wins', () => {
    const slots = startSlots(STAGE_START_BATCH + 50, () => true, STAGE_START_BATCH);
    assert.equal(takeAll(slots, 500), STAGE_START_BATCH);
    assert.equal(slots.deferred, true);
  });

  void it('histories recorded before batching (patch false) start every ready stage, asking once', () => {
    let asked = 0;
    const slots = startSlots(Infinity, () => {
      asked += 1;
      return false;
    });
    assert.equal(takeAll(slots, 1000), 1000);
    assert.equal(slots.deferred, false);
    assert.equal(asked, 1);
  });
});
