/**
 * libtensorflow's INFO start-up notices (cpu_feature_guard.cc) are not printed by a process that loads it through
 * loadTf (`fineflow predict`, `serve`, workers), unless the operator set TF_CPP_MIN_LOG_LEVEL. Each case runs in a
 * fresh node: the variable is read once, when the binding loads.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { nativeLoadFailure, runSnippetInFreshNode, type SnippetRun } from '../../helpers/tf-process';

const SNIPPET =
  "const { loadTf } = require('./src/ml/backend'); const { tf } = loadTf({ preference: 'native' });" +
  " tf.tensor([1, 2]).add(1).dataSync(); console.log('done', process.env.TF_CPP_MIN_LOG_LEVEL);";

function run(level: string | undefined): SnippetRun {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TF_CPP_MIN_LOG_LEVEL;
  if (level !== undefined) env.TF_CPP_MIN_LOG_LEVEL = level;
  return runSnippetInFreshNode(SNIPPET, { env });
}

void it('loading native TensorFlow prints no INFO start-up notice unless the operator asks for them', (t) => {
  const missing = nativeLoadFailure();
  if (missing) return t.skip(`native binding not built: ${missing}`);
  // The operator's setting wins: at 0 libtensorflow prints its INFO lines, which shows this machine's build has them.
  const verbose = run('0');
  assert.equal(verbose.status, 0, verbose.stderr);
  assert.match(verbose.stdout, /^done 0$/m);
  if (!/^I\d{4} .*cpu_feature_guard/m.test(verbose.stderr))
    return t.skip('this libtensorflow prints no cpu_feature_guard notice on this CPU, so there is nothing to quiet');
  const quiet = run(undefined);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.match(quiet.stdout, /^done 1$/m);
  assert.doesNotMatch(quiet.stderr, /cpu_feature_guard|rebuild TensorFlow with the appropriate compiler flags/);
});
