import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validatePipeline } from '../../../src/spec';
import { readPipelineFile } from '../../../src/spec/read-file';

const HEADER = 'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: x}\n';

function only(result: ReturnType<typeof validatePipeline>, code: string): { line: number; column: number } {
  assert.equal(result.valid, false);
  const found = result.diagnostics.find((d) => d.code === code);
  assert.ok(found, `expected ${code}, got ${result.diagnostics.map((d) => d.code).join(', ')}`);
  assert.ok(found.line >= 1 && found.column >= 1 && found.hint);
  return found;
}

test('binary garbage is refused with a position', () => {
  const bytes = new Uint8Array([0x61, 0x3a, 0x20, 0x31, 0x0a, 0x62, 0x00, 0xff, 0x10]);
  const at = only(validatePipeline(bytes, 'bin.yaml'), 'file-binary');
  assert.deepEqual([at.line, at.column], [2, 2]);
});

test('random bytes never throw and are always rejected', () => {
  let seed = 42;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from({ length: 64 + (i % 50) }, next);
    const result = validatePipeline(bytes, 'noise.bin');
    assert.equal(result.valid, false);
  }
});

test('non-UTF-8 bytes point at the first bad byte', () => {
  const text = Buffer.from(`${HEADER}stages:\n  a:\n    description: caf`);
  const bytes = Buffer.concat([text, Buffer.from([0xe9, 0x0a])]);
  const at = only(validatePipeline(new Uint8Array(bytes), 'latin1.yaml'), 'file-not-utf8');
  assert.deepEqual([at.line, at.column], [6, 21]);
});

test('an empty file and a comment-only file are refused', () => {
  only(validatePipeline(new Uint8Array(), 'empty.yaml'), 'file-empty');
  only(validatePipeline('# nothing here\n\n', 'comment.yaml'), 'file-empty');
  only(validatePipeline('---\n', 'dashes.yaml'), 'file-empty');
});

test('a 50 MB file is refused quickly, from a string and from disk without reading it', () => {
  const big = `${HEADER}# ${'x'.repeat(50 * 1024 * 1024)}\n`;
  let started = performance.now();
  only(validatePipeline(big, 'big.yaml'), 'file-too-large');
  assert.ok(performance.now() - started < 200, 'string check took too long');
  const dir = mkdtempSync(join(tmpdir(), 'fineflow-spec-'));
  try {
    const path = join(dir, 'big.yaml');
    writeFileSync(path, big);
    started = performance.now();
    const parsed = readPipelineFile(path);
    assert.equal(parsed.diagnostics[0]?.code, 'file-too-large');
    assert.ok(performance.now() - started < 200, 'file check took too long');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an alias bomb is refused quickly', () => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 30; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  const started = performance.now();
  const result = validatePipeline(`${lines.join('\n')}\n`, 'bomb.yaml');
  assert.ok(performance.now() - started < 1000);
  only(result, 'yaml-alias');
});

test('deep nesting is refused before parsing', () => {
  const started = performance.now();
  const result = validatePipeline(`${HEADER}stages: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 'deep.yaml');
  assert.ok(performance.now() - started < 500);
  const at = only(result, 'yaml-too-deep');
  assert.equal(at.line, 4);
});

test('tabs, duplicate keys and several documents each get their code', () => {
  only(validatePipeline(`${HEADER}stages:\n\ta: 1\n`, 't.yaml'), 'yaml-tab');
  only(validatePipeline(`${HEADER}kind: Pipeline\nstages: {}\n`, 'd.yaml'), 'yaml-duplicate-key');
  only(validatePipeline(`${HEADER}---\n${HEADER}`, 'm.yaml'), 'yaml-multi-document');
  only(validatePipeline(`${HEADER}stages: {a: [1, 2}\n`, 's.yaml'), 'yaml-unclosed');
  only(validatePipeline(`${HEADER}params: {x: .inf}\nstages: {}\n`, 'n.yaml'), 'bad-number');
});
