/**
 * Validation rules of `finally:` stages and of the references only they make sense with
 * (`run.status`, `run.failedStages`, `run.cancelledStages`); runtime: src/core/run/finally.ts.
 * Each rule is a small pure function returning the problem (code, message, hint) or undefined;
 * src/spec/validate.ts reports it at the reference's position.
 */
import {
  FINALLY_ONLY_RUN_NAMES,
  referenceNodes,
  type ClassifiedReference,
  type ExpressionNode,
} from '../core/spec/expressions';

/** The top-level section a stage is written in. */
export type StageSection = 'stages' | 'finally';

export interface FinallyProblem {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

type ReferenceNode = Extract<ExpressionNode, { kind: 'reference' }>;

/** Reference nodes inside the first argument of a `default(…)` call: a missing value there becomes the fallback. */
export function defaultGuardedReferences(node: ExpressionNode): ReadonlySet<ReferenceNode> {
  const guarded = new Set<ReferenceNode>();
  const visit = (current: ExpressionNode): void => {
    switch (current.kind) {
      case 'call':
        if (current.name === 'default' && current.args[0])
          for (const ref of referenceNodes(current.args[0])) guarded.add(ref);
        current.args.forEach(visit);
        return;
      case 'not':
        return visit(current.operand);
      case 'logical':
      case 'compare':
        visit(current.left);
        return visit(current.right);
      case 'array':
        return current.items.forEach(visit);
      case 'member':
        visit(current.target);
        return visit(current.key);
      default:
        return;
    }
  };
  visit(node);
  return guarded;
}

/** `run.status` and the failed/cancelled lists exist only once the normal stages settled. */
export function runReferenceProblem(
  name: string,
  place: string,
  ownSection: StageSection | undefined,
): FinallyProblem | undefined {
  if (place === 'trigger')
    return {
      code: 'expression-not-allowed',
      message: 'triggers run before any stage, so they can only reference params',
      hint: 'use `${{ params.<name> }}`',
    };
  if (FINALLY_ONLY_RUN_NAMES.has(name) && ownSection !== 'finally')
    return {
      code: 'run-status-outside-finally',
      message: `\`run.${name}\` is known only once every stage settled, so only \`finally:\` stages can read it`,
      hint: `move this stage under \`finally:\`, or read \`stages.<id>.status\` of the stages it needs`,
    };
  return undefined;
}

/**
 * References across the two sections: a normal stage cannot wait for a finally stage (those run
 * last), and a finally stage reads a normal stage's output only null-safely (`?.` or `default`),
 * because that stage may have failed, been skipped or cancelled.
 */
export function finallyReferenceProblem(
  ownSection: StageSection | undefined,
  targetSection: StageSection,
  classified: Extract<ClassifiedReference, { kind: 'stage-output' | 'stage-status' }>,
  ref: ReferenceNode,
  guarded: ReadonlySet<ReferenceNode>,
): FinallyProblem | undefined {
  if (ownSection !== 'finally' && targetSection === 'finally')
    return {
      code: 'finally-stage-referenced',
      message: `\`${classified.stage}\` is a \`finally:\` stage: it runs after every other stage, so they cannot use it`,
      hint: `move this stage under \`finally:\` too, or remove the reference to \`${classified.stage}\``,
    };
  if (ownSection !== 'finally' || targetSection !== 'stages' || classified.kind !== 'stage-output') return undefined;
  // segments: stages . X . outputs . Y — `?.` at or before Y makes a missing output null.
  const nullSafe = ref.optionalFrom !== undefined && ref.optionalFrom <= 3;
  if (nullSafe || guarded.has(ref)) return undefined;
  return {
    code: 'finally-unsafe-output',
    message:
      `a \`finally:\` stage runs also when \`${classified.stage}\` failed, was skipped or cancelled, and ` +
      `then it has no output \`${classified.output}\``,
    hint:
      `write \`stages.${classified.stage}.outputs?.${classified.output}\` (null when missing) or ` +
      `\`default(stages.${classified.stage}.outputs?.${classified.output}, …)\``,
  };
}
