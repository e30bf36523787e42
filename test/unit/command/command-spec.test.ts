/** The pure parts of `command`: its spec checks, the stdout line protocol, exit-code mapping and the allowlist. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../../src/spec';
import { parseCommandAllow, loadCommandConfig } from '../../../src/command/command-config';
import { exitFailure } from '../../../src/command/exit-status';
import { LineSplitter, MAX_LINE_CHARS, parseProtocolLine } from '../../../src/command/line-protocol';
import { ERROR_TYPES } from '../../../src/core/errors';

function pipeline(withBlock: string, extra = ''): string {
  return [
    'apiVersion: fineflow/v1',
    'kind: Pipeline',
    'metadata: {name: cmd}',
    extra,
    'stages:',
    '  train:',
    '    uses: command',
    '    with:',
    ...withBlock.split('\n').map((line) => `      ${line}`),
  ].join('\n');
}

const codes = (text: string) =>
  validatePipeline(text, 'cmd.yaml').diagnostics.map((d) => [d.code, d.path, d.line] as const);

test('a command stage with inputs, files, env, secret env and outputs validates; outputs are referenced by name', () => {
  const text = [
    pipeline(
      [
        'run: [python, train.py, --epochs, "3"]',
        'inputs: {data: {uri: "s3://datasets/x/manifest.json", as: dataset}, extra: "s3://datasets/y.csv"}',
        'files: {train.py: "print(1)"}',
        'env: {MODE: fast}',
        'secretEnv: {TOKEN: "${{ secrets.token }}"}',
        'outputs: {model: {path: out/model, type: folder}, report: out/report.json}',
        'environment: {digest: sha256-abc}',
      ].join('\n'),
      'secrets: {token: {env: TRAIN_TOKEN}}',
    ),
    '  use:',
    '    uses: command',
    '    with:',
    '      run: [python, use.py, "${{ stages.train.outputs.artifacts.model }}", "${{ stages.train.outputs.metrics.accuracy }}"]',
  ].join('\n');
  assert.deepEqual(codes(text), []);
});

function assertPaths(text: string, expected: readonly string[]): void {
  const found = codes(text);
  for (const path of expected)
    assert.ok(
      found.some(([, p]) => p === path || p.replace(/\["(.*)"\]$/, '.$1') === path),
      `${path} not in ${JSON.stringify(found)}`,
    );
  assert.ok(found.every(([, , line]) => line > 0));
}

test('bounds and paths: each problem is reported at its field', () => {
  // Schema problems first (the cross-field checks run once the schema holds).
  assertPaths(pipeline('run: [python]\noutputs: {model: ../../etc/passwd}\ninputs: {data: {uri: "ftp://host/x"}}'), [
    'stages.train.with.outputs.model',
    'stages.train.with.inputs.data.uri',
  ]);
  assertPaths(
    pipeline(
      [
        'run: ["python; rm -rf /", x]',
        'files: {../escape.py: "x", /abs.py: "y"}',
        'env: {LD_PRELOAD: evil.so, "1BAD": x, PATH: /tmp}',
      ].join('\n'),
    ),
    [
      'stages.train.with.run.0',
      'stages.train.with.files.../escape.py',
      'stages.train.with.files./abs.py',
      'stages.train.with.env.LD_PRELOAD',
      'stages.train.with.env.1BAD',
      'stages.train.with.env.PATH',
    ],
  );
});

test('a secret may not be written into env (it would be recorded), only into secretEnv', () => {
  const text = pipeline('run: [python]\nenv: {TOKEN: "${{ secrets.token }}"}', 'secrets: {token: {env: T}}');
  assert.deepEqual(
    codes(text).map(([code]) => code),
    ['secret-in-non-secret-input'],
  );
  const literal = pipeline('run: [python]\nsecretEnv: {TOKEN: hunter2}');
  assert.deepEqual(
    codes(literal).map(([code]) => code),
    ['secret-literal'],
  );
});

test('argv over its byte cap is refused', () => {
  const long = 'a'.repeat(4000);
  const text = pipeline(`run: [python, ${Array.from({ length: 40 }, () => long).join(', ')}]`);
  assert.ok(codes(text).some(([, path]) => path === 'stages.train.with.run'));
});

test('protocol lines: progress, message and metrics; malformed ones are reported, never thrown', () => {
  assert.deepEqual(parseProtocolLine('plain output'), { kind: 'log', text: 'plain output' });
  const line = parseProtocolLine('::fineflow:: {"progress": 0.25, "message": "epoch 1/4", "metrics": {"loss": 0.5}}');
  assert.equal(line.kind, 'progress');
  if (line.kind === 'progress') {
    assert.equal(line.progress.fraction, 0.25);
    assert.equal(line.progress.message, 'epoch 1/4 loss=0.5');
    assert.deepEqual(line.metrics, { loss: 0.5 });
  }
  assert.equal(parseProtocolLine('::fineflow:: {"progress": 2}').kind, 'malformed');
  assert.equal(parseProtocolLine('::fineflow:: nope').kind, 'malformed');
  assert.equal(parseProtocolLine('::fineflow:: {"metrics": {"x": "high"}}').kind, 'malformed');
  assert.equal(parseProtocolLine('::fineflow:: [1]').kind, 'malformed');
});

test('lines are split across chunks, and a line without end is cut at the cap', () => {
  const lines: [string, boolean][] = [];
  const splitter = new LineSplitter((text, truncated) => lines.push([text, truncated]));
  splitter.push('hel');
  splitter.push('lo\r\nwor');
  splitter.push('ld\n');
  splitter.push('x'.repeat(MAX_LINE_CHARS + 10));
  splitter.push('y'.repeat(MAX_LINE_CHARS));
  splitter.push('tail\nlast');
  splitter.end();
  assert.deepEqual(lines, [
    ['hello', false],
    ['world', false],
    ['x'.repeat(MAX_LINE_CHARS), true],
    ['last', false],
  ]);
});

test('exit codes map onto retryable and non-retryable errors', () => {
  assert.equal(exitFailure({ code: 0, signal: null }, [75], 'p', []), undefined);
  const cases: [number | null, NodeJS.Signals | null, string, boolean][] = [
    [75, null, 'command-exit-retryable', true],
    [1, null, 'command-failed', false],
    [127, null, 'command-not-runnable', false],
    [null, 'SIGKILL', 'command-killed', true],
    [null, 'SIGSEGV', 'command-failed', false],
  ];
  for (const [code, signal, expected, retryable] of cases) {
    const error = exitFailure({ code, signal }, [75], 'p', ['last line']);
    assert.ok(error);
    assert.equal(error.details.code, expected);
    assert.equal(error.retryable, retryable);
    assert.match(error.message, /last line/);
  }
  assert.equal(exitFailure({ code: 1, signal: null }, [75], 'p', [])?.type, ERROR_TYPES.invalidInput);
});

test('FINEFLOW_COMMAND_ALLOW: names map to absolute paths; relative paths and bad names fail naming the variable', () => {
  assert.deepEqual(
    { ...parseCommandAllow('python=/opt/venv/bin/python, /usr/bin/Rscript') },
    {
      python: '/opt/venv/bin/python',
      Rscript: '/usr/bin/Rscript',
    },
  );
  assert.deepEqual({ ...parseCommandAllow(undefined) }, {});
  assert.throws(() => parseCommandAllow('python=venv/bin/python'), /FINEFLOW_COMMAND_ALLOW.*absolute/);
  assert.throws(() => parseCommandAllow('py thon=/bin/python'), /FINEFLOW_COMMAND_ALLOW/);
  assert.throws(() => parseCommandAllow('p=/a,p=/b'), /given twice/);
  assert.throws(() => loadCommandConfig({ FINEFLOW_COMMAND_MAX_BYTES: '-1' }), /FINEFLOW_COMMAND_MAX_BYTES/);
  assert.throws(() => loadCommandConfig({ FINEFLOW_COMMAND_WORK_DIR: 'rel' }), /FINEFLOW_COMMAND_WORK_DIR/);
});
