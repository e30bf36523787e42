/** The one heartbeat-while-waiting loop (activities/heartbeat-loop.ts): when it beats, what, and that it stops. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeatIntervalMs, startHeartbeatLoop, whileHeartbeating } from '../../../activities/heartbeat-loop';

test('the loop beats three times per heartbeat timeout, within 200 ms to 5 s', () => {
  assert.equal(heartbeatIntervalMs(3_000), 1_000);
  assert.equal(heartbeatIntervalMs(20_000), 5_000);
  assert.equal(heartbeatIntervalMs(300), 200);
  assert.equal(heartbeatIntervalMs(undefined), 5_000);
});

/** Runs `body` inside a mock activity whose heartbeat timeout is 3 s, with Node's mock timers. */
async function inActivity(t: test.TestContext, body: (context: Context, beats: unknown[]) => Promise<void>) {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 3_000 });
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(details));
  await env.run(() => body(Context.current(), beats));
}

test('it beats at start, then every interval with the details of that moment, until stopped', async (t) => {
  await inActivity(t, async (context, beats) => {
    let epoch = 0;
    const loop = startHeartbeatLoop(context, { details: () => ({ epoch }) });
    assert.deepEqual(beats, [{ epoch: 0 }]);
    epoch = 1;
    t.mock.timers.tick(999);
    assert.equal(beats.length, 1);
    t.mock.timers.tick(1);
    assert.deepEqual(beats, [{ epoch: 0 }, { epoch: 1 }]);
    loop.beat();
    assert.equal(beats.length, 3);
    loop.stop();
    t.mock.timers.tick(10_000);
    assert.equal(beats.length, 3);
  });
});

test('whileHeartbeating stops the loop when the work fails', async (t) => {
  await inActivity(t, async (context, beats) => {
    let fail: (error: Error) => void = () => undefined;
    const work = whileHeartbeating(context, () => new Promise<void>((_, reject) => (fail = reject)));
    t.mock.timers.tick(2_000);
    assert.equal(beats.length, 3);
    fail(new Error('listing failed'));
    await assert.rejects(work, /listing failed/);
    t.mock.timers.tick(10_000);
    assert.equal(beats.length, 3);
  });
});
