/**
 * Item 7 of docs/security.md: `__proto__`, `constructor` and `prototype` are refused as YAML
 * keys, stage ids, params, `--set` names and outputs, with a diagnostic; lookups by an untrusted
 * name only see own properties.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkParamOverrides } from '../../src/core/run/params';
import { compilePlan, validatePipeline } from '../../src/spec';
import { toJson, type LocatedNode } from '../../src/spec/located';
import { ownValue } from '../../src/core/spec/reserved';
import { checkStageTypeDefinition } from '../../src/spec/stage-types';

const PIPELINE = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: reserved}
params:
  __proto__: {polluted: true}
  constructor: 1
  ok: 2
stages:
  prototype:
    uses: prepare-data
    with:
      source: s3://datasets/d/
      format: csv
      labelColumn: label
      clean: {__proto__: {dropDuplicates: false}}
`;

void describe('reserved keys', () => {
  void it('are refused as params, stage ids and nested keys, each with a positioned diagnostic and a hint', () => {
    const result = validatePipeline(PIPELINE, 'reserved.yaml');
    const reserved = result.diagnostics.filter((d) => d.code === 'reserved-key').map((d) => [d.path, d.line, d.column]);
    assert.deepEqual(reserved, [
      ['params.__proto__', 5, 3],
      ['params.constructor', 6, 3],
      ['stages.prototype', 9, 3],
      ['stages.prototype.with.clean.__proto__', 15, 15],
    ]);
    assert.match(result.diagnostics.find((d) => d.code === 'reserved-key')?.hint ?? '', /reserved/);
    assert.equal(compilePlan(PIPELINE, 'reserved.yaml').plan, undefined);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'nothing was polluted');
  });

  void it('are refused as --set names with their own diagnostic', () => {
    const ok = PIPELINE.replace(/ {2}__proto__: \{polluted: true\}\n {2}constructor: 1\n/, '')
      .replace('prototype:', 'prepare:')
      .replace('clean: {__proto__: {dropDuplicates: false}}', 'clean: {dropDuplicates: false}');
    assert.ok(compilePlan(ok, 'ok.yaml').plan, JSON.stringify(compilePlan(ok, 'ok.yaml').diagnostics));
    for (const name of ['constructor', '__proto__', 'prototype']) {
      const { plan, diagnostics } = compilePlan(ok, 'ok.yaml', { set: [`${name}=1`] });
      assert.equal(plan, undefined);
      assert.deepEqual(
        diagnostics.filter((d) => d.severity === 'error').map((d) => d.code),
        ['reserved-key'],
        name,
      );
    }
    // A retry's overrides (checked by the workflow) look params up as own keys only.
    const plan = compilePlan(ok, 'ok.yaml').plan;
    assert.ok(plan);
    const check = checkParamOverrides(plan, { constructor: '1', toString: '2' });
    assert.equal(check.ok, false);
    assert.match(
      check.ok ? '' : check.problems.join('; '),
      /params\.constructor: unknown param.*params\.toString: unknown param/,
    );
  });

  void it('are refused as outputs and input names of a team stage type', () => {
    const problems = checkStageTypeDefinition({
      name: 'team-stage',
      version: '1.0.0',
      description: 'x',
      inputs: { type: 'object', properties: { prototype: { type: 'string' } } },
      outputs: { constructor: { type: 'string', description: 'x' } },
    });
    assert.ok(
      problems.some((p) => /outputs\.constructor.*reserved/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /properties\.prototype.*reserved/.test(p)),
      problems.join('\n'),
    );
  });

  void it('stay plain data when converted, and lookups never see inherited properties', () => {
    const at = { offset: 0, end: 0 };
    const node: LocatedNode = {
      kind: 'map',
      span: at,
      entries: [{ key: '__proto__', keySpan: at, value: { kind: 'scalar', value: 1, span: at } }],
    };
    const json = toJson(node) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['__proto__']);
    assert.equal(Object.getPrototypeOf(json), Object.prototype);
    assert.equal(ownValue({ a: 1 } as Record<string, number>, 'constructor'), undefined);
    assert.equal(ownValue({ a: 1 } as Record<string, number>, 'a'), 1);
  });
});
