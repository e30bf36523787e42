import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { compilePlan, validatePipeline } from '../../../src/spec';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';

const dir = join(__dirname, '../../../pipelines');
const sources = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => readFileSync(join(dir, f), 'utf8'));

/** A mutant is read as if it were a file of pipelines/, so its `pipeline` stages find their children. */
const pipelineFiles = pipelineFileSource('mutant.yaml', dir);

/** Dependencies as a reader of the YAML would see them: needs plus every `stages.X.outputs` (or `.status`) mentioned. */
function dependencies(doc: {
  stages?: Record<string, { needs?: unknown; with?: unknown; when?: unknown; forEach?: unknown; matrix?: unknown }>;
}): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const [id, stage] of Object.entries(doc.stages ?? {})) {
    const needs =
      typeof stage?.needs === 'string'
        ? [stage.needs]
        : Array.isArray(stage?.needs)
          ? stage.needs.filter((n): n is string => typeof n === 'string')
          : [];
    const mentioned = [
      ...JSON.stringify([
        stage?.with ?? null,
        stage?.when ?? null,
        stage?.forEach ?? null,
        stage?.matrix ?? null,
      ]).matchAll(/stages\.([A-Za-z_][A-Za-z0-9_-]*)\.(?:outputs|status)/g),
    ].map((m) => m[1] as string);
    deps.set(id, [...needs, ...mentioned]);
  }
  return deps;
}

function hasCycle(deps: Map<string, string[]>): boolean {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string): boolean => {
    if (state.get(id) === 'done') return false;
    if (state.get(id) === 'open') return true;
    state.set(id, 'open');
    for (const d of deps.get(id) ?? []) if (deps.has(d) && visit(d)) return true;
    state.set(id, 'done');
    return false;
  };
  return [...deps.keys()].some(visit);
}

const textMutation = fc.oneof(
  fc.record({ kind: fc.constant('delete-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom(
        '\t',
        ': ',
        '- ',
        '&a ',
        '*a',
        '${{',
        '}}',
        '[',
        '{',
        '#',
        '"',
        "'",
        '\n  ',
        '---\n',
        '!!str ',
        '\u0000',
        '\uFFFD',
        'needs: [',
        'stages.',
      ),
    ),
  }),
  fc.record({ kind: fc.constant('delete-range' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

type TextMutation = typeof textMutation extends fc.Arbitrary<infer T> ? T : never;

function applyText(source: string, mutation: TextMutation): string {
  const lines = source.split('\n');
  const line = (n: number): number => n % lines.length;
  switch (mutation.kind) {
    case 'delete-line':
      lines.splice(line(mutation.at), 1);
      return lines.join('\n');
    case 'duplicate-line':
      lines.splice(line(mutation.at), 0, lines[line(mutation.at)] as string);
      return lines.join('\n');
    case 'swap-lines': {
      const a = line(mutation.at);
      const b = line(mutation.other);
      [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
      return lines.join('\n');
    }
    case 'insert': {
      const at = mutation.at % (source.length + 1);
      return source.slice(0, at) + mutation.text + source.slice(at);
    }
    case 'delete-range': {
      const at = mutation.at % (source.length + 1);
      return source.slice(0, at) + source.slice(at + mutation.length);
    }
    case 'truncate':
      return source.slice(0, mutation.at % (source.length + 1));
  }
}

test('text mutations of valid pipelines: the validator never throws and never accepts a cycle', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: sources.length - 1 }),
      fc.array(textMutation, { minLength: 1, maxLength: 4 }),
      (index, mutations) => {
        const text = mutations.reduce(applyText, sources[index] as string);
        const result = validatePipeline(text, 'mutant.yaml', { pipelineFiles });
        for (const d of result.diagnostics) {
          assert.ok(Number.isInteger(d.line) && d.line >= 1 && d.column >= 1, `${d.code} without a position`);
          assert.ok(d.code && d.message && d.hint !== '');
        }
        if (result.valid) {
          let doc: unknown;
          try {
            doc = parse(text);
          } catch {
            return;
          }
          assert.equal(hasCycle(dependencies(doc as never)), false, 'accepted a pipeline with a cycle');
        }
      },
    ),
    { numRuns: 2000, seed: 20261126 },
  );
});

test('random extra needs: every cycle is rejected with dependency-cycle, every acyclic graph compiles', () => {
  const docs = sources.map((s) => parse(s) as { stages: Record<string, Record<string, unknown>> });
  fc.assert(
    fc.property(
      fc.nat({ max: docs.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 }),
      (index, edges) => {
        const doc = structuredClone(docs[index]) as { stages: Record<string, Record<string, unknown>> };
        const ids = Object.keys(doc.stages);
        for (const [from, to] of edges) {
          const stage = doc.stages[ids[from % ids.length] as string] as Record<string, unknown>;
          const needs = Array.isArray(stage.needs) ? (stage.needs as string[]) : [];
          const target = ids[to % ids.length] as string;
          if (!needs.includes(target)) stage.needs = [...needs, target];
        }
        const text = stringify(doc);
        const cyclic = hasCycle(dependencies(doc));
        const result = compilePlan(text, 'mutant.yaml', { pipelineFiles });
        if (cyclic) {
          assert.equal(result.plan, undefined, 'accepted a cycle');
          assert.ok(
            result.diagnostics.some((d) => d.code === 'dependency-cycle' || d.code === 'when-reference-not-upstream'),
            result.diagnostics.map((d) => d.code).join(),
          );
        } else {
          assert.ok(result.plan, result.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
          const position = new Map(result.plan.stages.map((s, i) => [s.id, i]));
          for (const s of result.plan.stages)
            for (const n of s.needs) assert.ok((position.get(n) as number) < (position.get(s.id) as number));
        }
      },
    ),
    { numRuns: 1000, seed: 7 },
  );
});
