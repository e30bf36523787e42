/**
 * src/core is the workflow-safe side of the line: everything in it may be bundled into a
 * Temporal workflow. This test reads every file there (bundled today or not) and checks it imports (at run
 * time; type-only imports are erased) only other src/core modules or the few pure packages below, and never reaches for
 * nondeterminism. workflow-imports.test.ts checks what the bundle really contains; this one keeps
 * the whole folder honest, so a module can move into a workflow without surprises.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';

const ROOT = path.resolve(__dirname, '../../..');
const CORE = path.join(ROOT, 'src/core');
const PURE_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common']);
const BANNED = [
  'Math.random',
  'process.',
  'require(',
  'setTimeout',
  'setInterval',
  'performance.',
  'Date.now',
  'new Date()',
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : name.endsWith('.ts') ? [full] : [];
  });
}

void it('every src/core module imports only src/core and pure packages, and uses no clock or randomness', () => {
  const files = filesUnder(CORE);
  assert.ok(files.length >= 40, `found ${files.length} files under src/core`);
  const problems: string[] = [];
  for (const file of files) {
    const rel = path.relative(ROOT, file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^import (type )?[\s\S]*? from '([^']+)';$/gm)) {
      const [, typeOnly, target = ''] = match;
      if (typeOnly) continue; // erased at compile time: nothing of it reaches the bundle
      if (target.startsWith('.')) {
        const resolved = path.resolve(path.dirname(file), target);
        if (!resolved.startsWith(CORE)) problems.push(`${rel} imports ${target}, outside src/core`);
      } else if (!PURE_PACKAGES.has(target)) problems.push(`${rel} imports package ${target}`);
    }
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const banned of BANNED) if (code.includes(banned)) problems.push(`${rel} uses ${banned}`);
  }
  assert.deepEqual(problems, []);
});
