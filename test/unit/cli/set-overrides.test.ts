/**
 * Param overrides have one grammar and one wording: `--set NAME=VALUE` in every command's `--help` and usage, one
 * reading of VALUE for each param type whether `plan`/`submit`/`schedule apply` (the compiler) or `retry`/`rerun`
 * (the run's own check) reads it, and one message for a malformed pair.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatHelp } from '../../../src/cli/command';
import { allCommands } from '../../../src/cli/registry';
import { checkParamOverrides, parseSetPairs } from '../../../src/core/run/params';
import type { JsonValue } from '../../../src/core/spec/plan-types';
import { compilePlan } from '../../../src/spec';

const PIPELINE = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: set-grammar}
params:
  text: {type: string, default: a}
  rate: {type: number, default: 0.5}
  count: {type: integer, default: 3}
  fast: {type: boolean, default: false}
  tags: {type: array, default: []}
  extra: {type: object, default: {}}
stages:
  only: {uses: command, with: {run: [echo, ok]}}
`;

/** What plan/submit make of `--set name=raw`: the value, or undefined when refused. */
function fromCompiler(name: string, raw: string): JsonValue | undefined {
  const result = compilePlan(PIPELINE, 'set-grammar.yaml', { set: [`${name}=${raw}`] });
  return result.plan?.params[name]?.value;
}

/** What retry/rerun make of the same pair, against the plan. */
function fromRunCheck(name: string, raw: string): JsonValue | undefined {
  const plan = compilePlan(PIPELINE, 'set-grammar.yaml').plan;
  assert.ok(plan);
  const checked = checkParamOverrides(plan, parseSetPairs([`${name}=${raw}`]));
  return checked.ok ? checked.values[name] : undefined;
}

it('the pipeline of this test compiles', () => {
  const result = compilePlan(PIPELINE, 'set-grammar.yaml');
  assert.ok(result.plan, JSON.stringify(result.diagnostics));
});

it('plan/submit and retry/rerun read every VALUE the same way (each accepts what either accepted before)', () => {
  const cases: [name: string, raw: string, expected: JsonValue | undefined][] = [
    ['text', 'hello world', 'hello world'],
    ['text', '12', '12'],
    ['rate', '0.95', 0.95],
    ['rate', '.5', 0.5], // plan's spelling; retry refused it
    ['rate', '1.', 1], // plan's spelling; retry refused it
    ['rate', '1e-3', 0.001],
    ['rate', ' 2 ', 2],
    ['rate', 'abc', undefined],
    ['rate', '', undefined],
    ['rate', 'NaN', undefined],
    ['count', '20', 20],
    ['count', '5.0', 5], // retry's spelling; plan refused it
    ['count', '1e3', 1000], // retry's spelling; plan refused it
    ['count', '2.5', undefined],
    ['count', '99999999999999999999', undefined],
    ['fast', 'true', true],
    ['fast', ' false', false], // retry's spelling (JSON allows spaces); plan refused it
    ['fast', 'True', undefined],
    ['fast', 'yes', undefined],
    ['tags', '["a","b"]', ['a', 'b']],
    ['tags', '{"a":1}', undefined],
    ['extra', '{"k":1}', { k: 1 }],
    ['extra', '[1]', undefined],
    ['extra', 'null', undefined],
  ];
  for (const [name, raw, expected] of cases) {
    assert.deepEqual(fromCompiler(name, raw), expected, `plan --set ${name}=${raw}`);
    assert.deepEqual(fromRunCheck(name, raw), expected, `retry --set ${name}=${raw}`);
  }
});

it('a malformed pair gets one message from every command', () => {
  const diagnostic = compilePlan(PIPELINE, 'set-grammar.yaml', { set: ['=5'] }).diagnostics.find(
    (d) => d.code === 'set-syntax',
  );
  assert.ok(diagnostic);
  assert.throws(
    () => parseSetPairs(['=5']),
    (error: Error) => error.message === `${diagnostic.message}; ${diagnostic.hint}`,
  );
  assert.equal(diagnostic.message, '--set =5: expected NAME=VALUE');
});

it('a value of the wrong type gets one message from plan and retry: the param, its type, the value and a fix', () => {
  const plan = compilePlan(PIPELINE, 'set-grammar.yaml').plan;
  assert.ok(plan);
  const cases: [name: string, raw: string, message: string, fix: string][] = [
    ['rate', 'abc', 'param `rate` is a number, and "abc" is not', 'write e.g. --set rate=0.5'],
    ['count', '2.5', 'param `count` is an integer, and "2.5" is not', 'write e.g. --set count=3'],
    ['fast', 'yes', 'param `fast` is a boolean, and "yes" is not', 'write e.g. --set fast=false'],
    ['extra', '[1]', 'param `extra` is an object, and "[1]" is not', 'write e.g. --set extra={}'],
  ];
  for (const [name, raw, message, fix] of cases) {
    const diagnostic = compilePlan(PIPELINE, 'set-grammar.yaml', { set: [`${name}=${raw}`] }).diagnostics.find(
      (d) => d.code === 'set-wrong-type',
    );
    assert.ok(diagnostic, `plan --set ${name}=${raw}`);
    assert.equal(diagnostic.message, `--set ${name}=${raw}: ${message}`);
    assert.equal(diagnostic.hint, fix);
    // retry/rerun from the command line, and the UI's retry form (its values are sent as they were typed).
    const checked = checkParamOverrides(plan, parseSetPairs([`${name}=${raw}`]));
    assert.deepEqual(checked, { ok: false, problems: [`params.${name}: ${message}; ${fix}`] }, `retry ${name}=${raw}`);
  }
  // JSON from a pipeline (a sub-pipeline's params): the same message; the fix is written as YAML, not --set.
  assert.deepEqual(checkParamOverrides(plan, { count: '5', text: 7 }, { strict: true }), {
    ok: false,
    problems: [
      'params.count: param `count` is an integer, and "5" is not; write e.g. count: 3',
      'params.text: param `text` is a string, and 7 is not; write e.g. text: "a"',
    ],
  });
  // The value is the user's, of any length: quoted back only in part.
  const long = checkParamOverrides(plan, parseSetPairs([`rate=${'9'.repeat(500)}x`]));
  assert.ok(!long.ok && (long.problems[0]?.length ?? 0) < 200, JSON.stringify(long));
});

it('every command that takes --set calls it NAME=VALUE, in its usage and its options', () => {
  const withSet = allCommands().filter((command) => command.options.some((option) => option.name === 'set'));
  assert.deepEqual(withSet.map((command) => command.name).sort(), ['plan', 'rerun', 'retry', 'schedule', 'submit']);
  for (const command of withSet) {
    const help = formatHelp(command);
    assert.doesNotMatch(help, /k=v/, `fineflow ${command.name} --help`);
    assert.match(help.split('\n')[0] ?? '', /\[--set NAME=VALUE\]…/, `fineflow ${command.name} usage`);
    assert.match(help, /\n {6}--set NAME=VALUE {2,}\S/, `fineflow ${command.name} options`);
  }
});
