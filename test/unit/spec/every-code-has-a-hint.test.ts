/**
 * Every diagnostic code the validator can emit is documented, produced by a fixture, and comes with a
 * hint that says what to write instead (not what the field means). The codes are read from the
 * validator's own source, so a new code without documentation, fixture or fixing hint fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { compilePlan } from '../../../src/spec';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';
import type { Diagnostic } from '../../../src/spec/diagnostics';

const root = join(__dirname, '../../..');
const doc = readFileSync(join(root, 'docs/pipeline-reference.md'), 'utf8');
const TABLE = new Set([...doc.matchAll(/^\| `([a-z0-9-]+)` \| (error|warning) \|/gm)].map((m) => m[1] as string));

/** Files whose code literals are diagnostics of `fineflow validate` / `plan`. */
function validatorSources(): string[] {
  const dirs = ['src/spec', 'src/core/spec'];
  const files = dirs.flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(dir, f)),
  );
  return [...files, 'src/schedules/schedule-block.ts'];
}

const CODE_LITERALS = [
  /(?:\.error|\.report|push|fail|setDiagnostic)\(\s*(?:'(?:error|warning)',\s*)?'([a-z][a-z0-9]*(?:-[a-z0-9]+)+)'/g,
  /\bcode: '([a-z][a-z0-9]*(?:-[a-z0-9]+)+)'/g,
  /\brefuse\(\s*[^,()]+,\s*'([a-z][a-z0-9]*(?:-[a-z0-9]+)+)'/g,
];
/** Codes of other layers that appear in these files: `schedule apply`'s error code and the plan re-check's. */
const NOT_VALIDATE = new Set(['invalid-schedule', 'no-schedule']);

function emittedCodes(): Map<string, string> {
  const codes = new Map<string, string>();
  for (const file of validatorSources()) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const pattern of CODE_LITERALS)
      for (const m of text.matchAll(pattern)) if (!codes.has(m[1] as string)) codes.set(m[1] as string, file);
  }
  for (const code of NOT_VALIDATE) codes.delete(code);
  return codes;
}

/** A hint that tells what to write: an instruction, a suggestion or the list of what is allowed. */
const FIXING =
  /^(write|add|remove|use|rename|quote|close|change|make|move|declare|pass|set|split|shorten|put|reference|start|give|indent|flatten|save|keep|replace|retype|break|delete|drop|compare|align|lower|raise|reduce|fix|list|did you mean|allowed|one of|is this the right file|`.` is U\+)/i;

const HEAD = 'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: codes}\n';
const PREPARE = '  prepare:\n    uses: prepare-data\n    with: {source: s3://data/x/, format: image-folder}\n';
const text = (body: string): string => `${HEAD}${body}`;

/** Inputs producing the codes the fixture files in test/fixtures/spec/invalid do not. */
const CASES: readonly { code: string; source: string | Uint8Array; set?: string[] }[] = [
  { code: 'file-too-large', source: `# ${'x'.repeat(1024 * 1024)}\n` },
  { code: 'file-binary', source: new Uint8Array([0x61, 0x3a, 0x20, 0x00, 0xff]) },
  { code: 'file-not-utf8', source: new Uint8Array([0x61, 0x3a, 0x20, 0xff, 0x0a]) },
  { code: 'yaml-too-deep', source: text(`x: ${'['.repeat(70)}${']'.repeat(70)}\n`) },
  { code: 'bad-number', source: text(`params: {x: .inf}\nstages:\n${PREPARE}`) },
  { code: 'unsafe-integer', source: text(`params: {x: 9007199254740993}\nstages:\n${PREPARE}`) },
  { code: 'out-of-range', source: text(`stages:\n${PREPARE}    parallelism: 0\n    forEach: [1]\n`) },
  {
    code: 'bad-value',
    source: text(`stages:\n  prepare:\n    uses: prepare-data\n    with: {source: s3://data/x/, format: pdf}\n`),
  },
  { code: 'bad-param-name', source: text(`params: {"a b": 1}\nstages:\n${PREPARE}`) },
  {
    code: 'too-many-stages',
    source: text(`stages:\n${Array.from({ length: 1001 }, (_, i) => `  s${i}: {uses: prepare-data}\n`).join('')}`),
  },
  { code: 'reserved-key', source: text(`params: {__proto__: 1}\nstages:\n${PREPARE}`) },
  { code: 'bad-secret-name', source: text(`secrets: {"a-b": {env: X}}\nstages:\n${PREPARE}`) },
  { code: 'bad-secret-reference', source: text(`secrets: {tok: {env: X, file: /x}}\nstages:\n${PREPARE}`) },
  {
    code: 'unknown-secret',
    source: text(
      'stages:\n  n:\n    uses: notify\n    with: {url: "https://h/x", message: m, auth: "${{ secrets.nope }}"}\n',
    ),
  },
  {
    code: 'secret-literal',
    source: text('stages:\n  n:\n    uses: notify\n    with: {url: "https://h/x", message: m, auth: hunter2}\n'),
  },
  {
    code: 'secret-in-non-secret-input',
    source: text(
      'secrets: {tok: {env: TOK}}\nstages:\n  n:\n    uses: notify\n    with: {url: "https://h/x", message: "${{ secrets.tok }}"}\n',
    ),
  },
  {
    code: 'secret-not-allowed',
    source: text(`secrets: {tok: {env: TOK}}\nstages:\n${PREPARE}    when: "\${{ secrets.tok == 'x' }}"\n`),
  },
  { code: 'unused-secret', source: text(`secrets: {tok: {env: TOK}}\nstages:\n${PREPARE}`) },
  {
    code: 'duplicate-needs',
    source: text(
      `stages:\n${PREPARE}  b:\n    uses: prepare-data\n    needs: [prepare, prepare]\n    with: {source: s3://data/x/, format: image-folder}\n`,
    ),
  },
  { code: 'heartbeat-exceeds-timeout', source: text(`stages:\n${PREPARE}    timeout: 1m\n    heartbeatTimeout: 2m\n`) },
  { code: 'fan-out-not-a-list', source: text(`params: {n: 3}\nstages:\n${PREPARE}    forEach: "\${{ params.n }}"\n`) },
  {
    code: 'item-outside-fan-out',
    source: text(
      'stages:\n  prepare:\n    uses: prepare-data\n    with: {source: "${{ item }}", format: image-folder}\n',
    ),
  },
  {
    code: 'unknown-matrix-key',
    source: text(
      'stages:\n  prepare:\n    uses: prepare-data\n    matrix: {src: [s3://d/a/]}\n    with: {source: "${{ item.sorce }}", format: image-folder}\n',
    ),
  },
  { code: 'fan-out-conflict', source: text(`stages:\n${PREPARE}    forEach: [1]\n    matrix: {a: [1]}\n`) },
  { code: 'fan-out-setting-without-items', source: text(`stages:\n${PREPARE}    parallelism: 2\n`) },
  {
    code: 'too-many-items',
    source: text(
      `stages:\n${PREPARE}    matrix: {a: [${Array.from({ length: 20 }, (_, i) => i).join(', ')}], b: [${Array.from({ length: 20 }, (_, i) => i).join(', ')}]}\n`,
    ),
  },
  {
    code: 'set-syntax',
    source: text(`params: {x: 1}\nstages:\n${PREPARE}    when: "\${{ params.x > 0 }}"\n`),
    set: ['x'],
  },
  {
    code: 'set-unknown-param',
    source: text(`params: {x: 1}\nstages:\n${PREPARE}    when: "\${{ params.x > 0 }}"\n`),
    set: ['y=1'],
  },
  {
    code: 'set-wrong-type',
    source: text(`params: {x: 1}\nstages:\n${PREPARE}    when: "\${{ params.x > 0 }}"\n`),
    set: ['x=abc'],
  },
  {
    code: 'missing-param-value',
    source: text(
      'params: {src: {type: string}}\nstages:\n  prepare:\n    uses: prepare-data\n    with: {source: "${{ params.src }}", format: image-folder}\n',
    ),
  },
  {
    code: 'param-value-invalid',
    source: text(
      'params: {n: -3}\nstages:\n  prepare:\n    uses: prepare-data\n    with: {source: s3://data/x/, format: image-folder, limitPerClass: "${{ params.n }}"}\n',
    ),
  },
];

function diagnosticsOf(source: string | Uint8Array, file: string, set?: string[]): Diagnostic[] {
  return compilePlan(source, file, set ? { set } : {}).diagnostics;
}

function fixtureDiagnostics(): Diagnostic[] {
  const dir = join(root, 'test/fixtures/spec/invalid');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => diagnosticsOf(new Uint8Array(readFileSync(join(dir, f))), f));
}

/** The codes of `pipeline` stages, which need files next to the pipeline (src/spec/sub-pipelines.ts). */
function subPipelineDiagnostics(): Diagnostic[] {
  const dir = mkdtempSync(join(tmpdir(), 'fineflow-codes-'));
  try {
    const stage = (file: string, params = ''): string =>
      `  sub:\n    uses: pipeline\n    with: {file: ${file}${params}}\n`;
    const files: Record<string, string> = {
      'child.yaml': text(`schedule: {cron: "0 3 * * *"}\nstages:\n${PREPARE}`),
      'broken.yaml': text(`stages:\n  prepare:\n    uses: prepare-data\n`),
      'loop.yaml': text(`stages:\n${stage('loop.yaml')}`),
      'big.yaml': `# ${'x'.repeat(900 * 1024)}\n${text(`stages:\n${PREPARE}`)}`,
      'd1.yaml': text(`stages:\n${stage('d2.yaml')}`),
      'd2.yaml': text(`stages:\n${stage('d3.yaml')}`),
      'd3.yaml': text(`stages:\n${stage('d4.yaml')}`),
      'd4.yaml': text(`stages:\n${stage('d5.yaml')}`),
      'd5.yaml': text(`stages:\n${PREPARE}`),
      'parent.yaml': text(
        `stages:\n${stage('child.yaml')}${stage('../x.yaml').replace('sub', 'up')}${stage('chlid.yaml').replace('sub', 'typo')}` +
          `${stage('broken.yaml').replace('sub', 'bad')}${stage('loop.yaml').replace('sub', 'cycle')}${stage('d1.yaml').replace('sub', 'deep')}` +
          Array.from({ length: 10 }, (_, i) => stage('big.yaml').replace('sub', `big${i}`)).join(''),
      ),
    };
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
    const file = join(dir, 'parent.yaml');
    return [
      ...compilePlan(files['parent.yaml'] as string, file, { pipelineFiles: pipelineFileSource(file, dir) })
        .diagnostics,
      ...diagnosticsOf(text(`stages:\n${stage('child.yaml')}`), 'sub-pipeline-unavailable.yaml'),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every code the validator emits is documented in docs/pipeline-reference.md', () => {
  const codes = emittedCodes();
  assert.ok(codes.size > 50, `found only ${codes.size} codes: the scan lost its patterns`);
  const missing = [...codes]
    .filter(([code, file]) => (file.endsWith('validate-plan.ts') ? !doc.includes(`\`${code}\``) : !TABLE.has(code)))
    .map(([code, file]) => `${code} (${file})`);
  assert.deepEqual(
    missing,
    [],
    'codes missing from the diagnostics table (plan re-check codes: from the text below it)',
  );
});

test('every documented code is produced by a fixture, with a hint that says what to write instead', () => {
  const produced = new Map<string, Diagnostic[]>();
  const add = (d: Diagnostic): void => void produced.set(d.code, [...(produced.get(d.code) ?? []), d]);
  fixtureDiagnostics().forEach(add);
  subPipelineDiagnostics().forEach(add);
  for (const c of CASES) {
    const found = diagnosticsOf(c.source, `${c.code}.yaml`, c.set);
    if (!found.some((d) => d.code === c.code))
      produced.set(`case ${c.code} produced ${found.map((d) => d.code).join(', ') || 'nothing'}`, []);
    found.forEach(add);
  }
  const problems: string[] = [];
  for (const code of [...TABLE, ...[...produced.keys()].filter((k) => k.startsWith('case '))]) {
    const found = produced.get(code) ?? [];
    if (found.length === 0) problems.push(`no fixture produces ${code}`);
    for (const d of found)
      if (!FIXING.test(d.hint ?? '')) problems.push(`${code} at ${d.file}:${d.line}: hint "${d.hint}"`);
  }
  assert.deepEqual(problems, [], 'every code needs a fixture and hints that say what to write');
});
