/**
 * Clients start workflows by function reference (the compiler checks `args`); Temporal registers
 * a workflow under its exported function's name, and run listings query by WORKFLOW_TYPES, so the
 * two must stay equal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WORKFLOW_TYPES } from '../../../src/core/run/run-types';
import * as workflows from '../../../workflows';

test('every WORKFLOW_TYPES entry names an exported workflow function of the same name', () => {
  for (const [key, type] of Object.entries(WORKFLOW_TYPES)) {
    const fn = (workflows as Record<string, unknown>)[type];
    assert.equal(typeof fn, 'function', `workflows/index.ts exports no ${type}`);
    assert.equal((fn as { name: string }).name, type, `WORKFLOW_TYPES.${key}`);
  }
});
