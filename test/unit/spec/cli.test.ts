import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli';

const root = join(__dirname, '../../..');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await runCli(argv, { env: {}, exactEnv: true, cwd: root });
  return { code, out: stdout, err: stderr };
}

test('validate: exit 0 for valid files, 1 with positioned diagnostics for invalid ones, 2 for usage', async () => {
  const ok = await run('validate', 'pipelines/quickstart.yaml', 'pipelines/sweep.yaml');
  assert.equal(ok.code, 0);
  assert.match(ok.out, /✓ pipelines\/quickstart.yaml is valid/);
  const bad = await run('validate', 'pipelines/quickstart.yaml', 'test/fixtures/spec/invalid/unknown-key.yaml');
  assert.equal(bad.code, 1);
  assert.match(bad.out, /test\/fixtures\/spec\/invalid\/unknown-key.yaml:9:5: error\[unknown-key\] unknown key `need`/);
  assert.match(bad.out, /\n9 \|     need: \[other\]\n {2}\| {5}\^\^\^\^\n/);
  assert.match(bad.out, /hint: did you mean `needs`\?/);
  assert.equal((await run('validate')).code, 2);
  assert.equal((await run('validate', 'no/such/file.yaml')).code, 2);
  assert.equal((await run('validate', '--bogus', 'x.yaml')).code, 2);
});

test('validate --json lists every diagnostic with code and position', async () => {
  const result = await run('validate', '--json', 'test/fixtures/spec/invalid/retry-bounds.yaml');
  assert.equal(result.code, 1);
  const report = JSON.parse(result.out) as {
    valid: boolean;
    files: { diagnostics: { code: string; line: number; column: number }[] }[];
  };
  assert.equal(report.valid, false);
  assert.deepEqual(
    report.files[0]?.diagnostics.map((d) => [d.code, d.line]),
    [
      ['retry-bounds', 10],
      ['retry-bounds', 10],
    ],
  );
});

test('bad files from disk: binary and non-UTF-8 get exit 1 and a position, never a stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fineflow-cli-'));
  try {
    writeFileSync(join(dir, 'bin.yaml'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]));
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from('name: caf\xe9\n', 'latin1'));
    const result = await run('validate', join(dir, 'bin.yaml'), join(dir, 'latin1.yaml'));
    assert.equal(result.code, 1);
    assert.match(result.out, /bin.yaml:1:1: error\[file-binary\]/);
    assert.match(result.out, /latin1.yaml:1:10: error\[file-not-utf8\]/);
    assert.doesNotMatch(result.out + result.err, /\n\s+at /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan prints the DAG; --json prints the plan; --set is type-checked', async () => {
  const human = await run('plan', 'pipelines/defect-detection.yaml', '--set', 'minAccuracy=0.95');
  assert.equal(human.code, 0);
  assert.match(human.out, /minAccuracy\s+0.95/);
  assert.match(human.out, /level 0[\s\S]*prepare[\s\S]*level 1[\s\S]*select[\s\S]*◀ prepare/);
  const json = await run('plan', 'pipelines/defect-detection.yaml', '--json');
  const plan = JSON.parse(json.out) as { apiVersion: string; levels: string[][] };
  assert.equal(plan.apiVersion, 'fineflow/v1');
  assert.deepEqual(plan.levels[0], ['prepare']);
  const wrong = await run('plan', 'pipelines/defect-detection.yaml', '--set', 'maxTrials=many');
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /error\[set-wrong-type\]/);
  assert.equal((await run('plan')).code, 2);
});

test('schema prints the JSON Schema', async () => {
  const result = await run('schema');
  assert.equal(result.code, 0);
  const schema = JSON.parse(result.out) as { $schema: string; $defs: { stage: { allOf: unknown[] } } };
  assert.match(schema.$schema, /2020-12/);
  assert.ok(schema.$defs.stage.allOf.length >= 6);
  const list = await run('schema', '--list');
  assert.match(list.out, /fine-tune@1\.2\.0/);
});
