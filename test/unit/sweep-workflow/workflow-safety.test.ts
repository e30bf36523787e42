import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const ROOT = join(__dirname, '../../..');
/** The sweep workflow and every module it imports at run time (type-only imports are erased). */
const FILES: { readonly [file: string]: readonly string[] } = {
  'workflows/hyperparameter-sweep.ts': ['@temporalio/workflow', '../src/errors', '../src/runtime/sweep-log', '../src/runtime/sweep-plan', '../src/runtime/sweep-results', '../src/runtime/sweep-types', '../src/runtime/task-queues', '../src/runtime/run-types', '../src/sweep'],
  'src/runtime/sweep-plan.ts': ['../errors', '../spec/durations', '../sweep'],
  'src/runtime/sweep-log.ts': [],
  'src/runtime/sweep-results.ts': [],
  'src/runtime/sweep-types.ts': [],
};

// Workflow code must stay deterministic: no Node built-ins, no I/O, no wall clock beyond
// Temporal's, no Math.random — and activities only as `import type`.
void it('the sweep workflow imports only deterministic modules, activities as types only', () => {
  for (const [file, allowed] of Object.entries(FILES)) {
    const source = readFileSync(join(ROOT, file), 'utf8');
    for (const match of source.matchAll(/^import (type )?[\s\S]*? from '([^']+)';$/gm)) {
      const [, typeOnly, target] = match;
      if (typeOnly) continue;
      assert.ok(allowed.includes(target as string), `${file} imports ${target} at run time`);
    }
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const banned of ['Math.random', 'process.', 'require(', 'setTimeout', 'performance', 'node:']) {
      assert.ok(!code.includes(banned), `${file} uses ${banned}`);
    }
  }
});
