import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stageTypeMarkdown } from '../../../src/spec/reference-doc';

const root = join(__dirname, '../../..');
const doc = readFileSync(join(root, 'docs/pipeline-reference.md'), 'utf8');

test('the stage-type reference in docs/pipeline-reference.md is current (regenerate: fineflow schema --markdown)', () => {
  const section = /<!-- stage-types:begin -->\n([\s\S]*)<!-- stage-types:end -->/.exec(doc)?.[1];
  assert.equal(section, stageTypeMarkdown());
});

test('every diagnostic code the fixtures expect is documented', () => {
  const documented = new Set([...doc.matchAll(/^\| `([a-z0-9-]+)` \| (error|warning) \|/gm)].map((m) => m[1]));
  const dir = join(root, 'test/fixtures/spec/invalid');
  for (const file of readdirSync(dir)) {
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/^# expect: ([a-z0-9-]+) \d+$/gm))
      assert.ok(documented.has(m[1]), `${m[1]} (${file}) is not in the reference`);
  }
  for (const code of [
    'file-too-large',
    'file-binary',
    'file-not-utf8',
    'yaml-too-deep',
    'set-syntax',
    'set-unknown-param',
    'set-wrong-type',
    'missing-param-value',
  ])
    assert.ok(documented.has(code), code);
});
