import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { EXIT } from '../../../src/cli/command';
import { runCli } from '../../helpers/cli';

/** `fineflow ARGV…` with exactly `env` (no Temporal configured unless given). */
const run = (argv: string[], env: Record<string, string> = {}) => runCli(argv, { env, exactEnv: true });

void describe('fineflow rerun (command line)', () => {
  void it('documents itself', async () => {
    const help = await run(['rerun', '--help']);
    assert.equal(help.code, EXIT.ok);
    assert.match(help.stdout, /^usage: fineflow rerun RUN --from STAGE/);
    assert.match(help.stdout, /--from STAGE/);
    assert.match(help.stdout, /--set NAME=VALUE/);
  });

  void it('rejects a command line without RUN or --from, or with a malformed --set (exit 2)', async () => {
    const noRun = await run(['rerun']);
    assert.equal(noRun.code, EXIT.usage);
    assert.match(noRun.stderr, /missing RUN/);
    const noFrom = await run(['rerun', 'r1']);
    assert.equal(noFrom.code, EXIT.usage);
    assert.match(noFrom.stderr, /missing --from STAGE/);
    const badSet = await run(['rerun', 'r1', '--from', 'a', '--set', 'novalue']);
    assert.equal(badSet.code, EXIT.usage);
    assert.match(badSet.stderr, /--set novalue: expected NAME=VALUE; write e.g. --set minAccuracy=0.95/);
  });

  void it('exits 3 when Temporal cannot be reached', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    // With a payload key, so the refusal is the connection's, not the missing key's.
    const key = `k:${randomBytes(32).toString('base64')}`;
    const down = await run(['rerun', 'r1', '--from', 'a', '--json'], {
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      FINEFLOW_CODEC_KEYS: key,
    });
    assert.equal(down.code, EXIT.unavailable);
    assert.match(down.stderr, /cannot reach Temporal at 127\.0\.0\.1:1/);
    assert.equal((JSON.parse(down.stdout) as { error: { type: string } }).error.type, 'FineflowDependencyUnavailable');
  });
});
