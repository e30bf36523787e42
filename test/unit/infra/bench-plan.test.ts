/**
 * `npm run bench` prepares each prerequisite once, right before the first section that needs it: a section
 * that needs nothing starts after the npm check alone, not after the TensorFlow check and the stack.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { benchSteps, type SectionNeeds } from '../../../bench/bench-plan';

const section = (name: string, needs: { tf?: boolean; stack?: boolean } = {}): SectionNeeds => ({
  name,
  needsTf: needs.tf ?? false,
  needsStack: needs.stack ?? false,
});

const names = (sections: readonly SectionNeeds[]): string[] =>
  benchSteps(sections).map((step) => (step.kind === 'section' ? step.name : `<${step.kind}>`));

it('prepares each prerequisite once, just before its first user', () => {
  assert.deepEqual(
    names([
      section('spec'),
      section('sweep', { tf: true }),
      section('cli'),
      section('ml', { tf: true }),
      section('scale', { tf: true, stack: true }),
      section('cache', { tf: true, stack: true }),
    ]),
    ['<npm>', 'spec', '<tf>', 'sweep', 'cli', 'ml', '<stack>', 'scale', 'cache'],
  );
});

it('starts a section that needs nothing after the npm check alone', () => {
  assert.deepEqual(names([section('spec')]), ['<npm>', 'spec']);
  assert.deepEqual(names([section('orchestration', { tf: true, stack: true })]), [
    '<npm>',
    '<tf>',
    '<stack>',
    'orchestration',
  ]);
  assert.deepEqual(names([]), ['<npm>']);
});
