/**
 * The Fineflow side of docs/coming-from-*.md: every pipeline under docs/examples/ validates without
 * errors and compiles to a plan, and every one is shown in one of those pages, so the comparisons
 * cannot rot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { compilePlan } from '../../../src/spec/compile';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';

const root = path.join(__dirname, '../../..');
const examples = path.join(root, 'docs/examples');
const files = readdirSync(examples, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const pages = readdirSync(path.join(root, 'docs'))
  .filter((f) => f.startsWith('coming-from-'))
  .map((f) => readFileSync(path.join(root, 'docs', f), 'utf8'))
  .join('\n');

test('docs/examples holds the comparison pipelines', () => assert.ok(files.length >= 3, files.join()));

for (const file of files) {
  test(`docs/examples/${file} validates, compiles to a plan and is shown in a coming-from page`, () => {
    // `pipeline` stages read their files next to the example, as `fineflow validate` does.
    const result = compilePlan(readFileSync(path.join(examples, file), 'utf8'), file, {
      pipelineFiles: pipelineFileSource(file, examples),
    });
    assert.ok(result.plan, result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`).join('\n'));
    assert.deepEqual(
      result.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    assert.ok(pages.includes(`examples/${file}`), `no docs/coming-from-*.md links examples/${file}`);
  });
}
