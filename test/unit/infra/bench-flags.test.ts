import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { argsForSection, positionalFor, SECTION_FLAGS, sectionArgsProblem } from '../../../bench/bench-flags';

const root = path.resolve(__dirname, '../../..');

test('a mistyped flag is refused with the nearest one, before anything runs', () => {
  assert.equal(
    sectionArgsProblem(['sweep'], ['--seed', '30']),
    'unknown flag "--seed" (did you mean --seeds?); the sweep section takes ' +
      SECTION_FLAGS.sweep?.flags.map((f) => f.name).join(', '),
  );
  assert.match(sectionArgsProblem(['spec'], ['--full']) ?? '', /the spec section takes no flags$/);
  assert.match(
    sectionArgsProblem(['spec', 'scale'], ['--ful']) ?? '',
    /did you mean --full\?.*sections spec, scale take/,
  );
});

test('values, repeats and positionals are checked', () => {
  assert.equal(sectionArgsProblem(['sweep'], ['--seeds']), '--seeds needs a value (--seeds N)');
  assert.equal(sectionArgsProblem(['sweep'], ['--seeds', '--progress']), '--seeds needs a value (--seeds N)');
  assert.equal(sectionArgsProblem(['sweep'], ['--seeds', '3', '--seeds', '4']), '--seeds is given twice');
  assert.equal(sectionArgsProblem(['cache'], ['p.yaml', '--set', 'a=1', '--set', 'b=2']), undefined);
  assert.equal(sectionArgsProblem(['cache'], ['a.yaml', 'b.yaml']), 'unexpected argument "b.yaml" for cache');
  assert.equal(sectionArgsProblem(['sweep'], ['30']), 'unexpected argument "30" for sweep');
  // A JSON value that starts like a flag is still a value.
  assert.equal(sectionArgsProblem(['sweep'], ['--tpe', '{"gamma":0.25}', '--first-seed', '-3']), undefined);
  assert.match(
    sectionArgsProblem(
      ['sweep'],
      Array.from({ length: 201 }, () => '--progress'),
    ) ?? '',
    /at most 200/,
  );
});

test('each section gets only the arguments it takes, in order', () => {
  const argv = ['--seeds', '5', '--full', '--set', 'x=1', 'p.yaml', '--progress'];
  assert.equal(sectionArgsProblem(['sweep', 'scale', 'cache'], argv), undefined);
  assert.deepEqual(argsForSection('sweep', argv), ['--seeds', '5', '--progress']);
  assert.deepEqual(argsForSection('scale', argv), ['--full']);
  assert.deepEqual(argsForSection('cache', argv), ['--set', 'x=1', 'p.yaml']);
  assert.deepEqual(argsForSection('spec', argv), []);
  assert.equal(positionalFor('cache', argv), 'p.yaml');
  assert.equal(positionalFor('cache', ['--set', 'x=1']), undefined);
});

/** Flags a section's script passes to processes of its own, or reads from them: not the user's to give. */
const INTERNAL: Readonly<Record<string, readonly string[]>> = {
  backend: ['--worker', '--import', '--model', '--batch-size', '--batches', '--warmup-batches', '--threads'],
  memory: ['--one', '--import'],
  cli: ['--help'],
  ui: ['--json'],
};

test("the table names every flag each section's script reads, and nothing it does not", () => {
  const bench = readFileSync(path.join(root, 'bench/bench.ts'), 'utf8');
  for (const [section, { flags }] of Object.entries(SECTION_FLAGS)) {
    const script = new RegExp(`name: '${section}',\\s*script: '([^']+)'`).exec(bench)?.[1];
    assert.ok(script, `bench.ts runs a section ${section}`);
    const source = readFileSync(path.join(root, script), 'utf8');
    const read = new Set([...source.matchAll(/'(--[a-z][a-z0-9-]*)'/g)].map((m) => m[1] as string));
    for (const flag of INTERNAL[section] ?? []) read.delete(flag);
    assert.deepEqual(
      [...read].sort(),
      flags.map((f) => f.name).sort(),
      `${script}'s flags and SECTION_FLAGS.${section} differ`,
    );
  }
});

function bench(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bench/bench.ts', ...args], { cwd: root, encoding: 'utf8' });
}

test('npm run bench refuses a bad argument and prints help without preparing anything', () => {
  const typo = bench('--only', 'sweep', '--', '--seed', '30');
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /^bench: unknown flag "--seed" \(did you mean --seeds\?\)/);
  assert.equal(typo.stdout, '', 'nothing was prepared or run');
  const own = bench('--onyl', 'sweep');
  assert.equal(own.status, 2);
  assert.match(own.stderr, /unknown argument "--onyl"; npm run bench takes --only and --help/);
  const help = bench('--only', 'scale', '--', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npm run bench/);
  assert.match(help.stdout, /flags of the sections chosen:\nscale:\n {2}--full /);
  assert.doesNotMatch(help.stdout, /^sweep:/m);
});
