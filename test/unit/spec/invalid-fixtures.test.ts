import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validatePipeline } from '../../../src/spec';

const dir = join(__dirname, '../../fixtures/spec/invalid');

/**
 * Each fixture names what it must produce in `# expect: <code> <line>` comments; a fixture
 * marked `# warnings only` must still be valid.
 */
for (const name of readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()) {
  test(`invalid fixture ${name}`, () => {
    const bytes = readFileSync(join(dir, name));
    const text = bytes.toString('utf8');
    const expected = [...text.matchAll(/^# expect: ([a-z0-9-]+) (\d+)$/gm)].map((m) => ({
      code: m[1] as string,
      line: Number(m[2]),
    }));
    assert.ok(expected.length > 0, `${name} has no "# expect:" line`);
    const result = validatePipeline(new Uint8Array(bytes), name);
    const warningsOnly = text.includes('# warnings only');
    assert.equal(
      result.valid,
      warningsOnly,
      warningsOnly ? `${name} should validate with warnings` : `${name} should be invalid`,
    );
    const remaining = [...result.diagnostics];
    for (const want of expected) {
      const index = remaining.findIndex((d) => d.code === want.code && d.line === want.line);
      assert.ok(
        index >= 0,
        `${name}: expected ${want.code} on line ${want.line}, got ${JSON.stringify(result.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`))}`,
      );
      const found = remaining[index];
      assert.ok(
        found && found.column >= 1 && found.message.length > 0 && found.file === name,
        `${name}: diagnostic lacks a position or message`,
      );
      remaining.splice(index, 1);
    }
    for (const d of result.diagnostics) assert.ok(d.hint && d.hint.length > 0, `${name}: ${d.code} has no hint`);
  });
}
