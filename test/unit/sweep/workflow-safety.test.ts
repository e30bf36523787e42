import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const SWEEP_DIR = join(__dirname, '../../../src/sweep');
const ALLOWED_OUTSIDE = new Set(['../errors', '../spec/plan-types']);

// The sweep modules run inside Temporal workflow code: they may import only each other, the
// error classes and the plan types, and must not read the clock or Math.random.
void it('src/sweep imports nothing a workflow may not use', () => {
  const files = readdirSync(SWEEP_DIR).filter((name) => name.endsWith('.ts'));
  assert.ok(files.length >= 8);
  for (const file of files) {
    const source = readFileSync(join(SWEEP_DIR, file), 'utf8');
    for (const match of source.matchAll(/from '([^']+)'/g)) {
      const target = match[1] as string;
      assert.ok(target.startsWith('./') || ALLOWED_OUTSIDE.has(target), `${file} imports ${target}`);
    }
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const banned of ['Math.random', 'Date', 'process.', 'require(', 'setTimeout', 'performance']) {
      assert.ok(!code.includes(banned), `${file} uses ${banned}`);
    }
  }
});
