/**
 * The order of `npm run bench`'s work: each section's child process starts as soon as what it needs is ready.
 * The parent used to run all of scripts/bootstrap.sh (the native TensorFlow check loads tfjs, the Python venv of
 * the `command` examples) and start the stack before the first section, so under load a section started tens of
 * seconds after the command, and ran whatever the source was by then. Now a prerequisite is prepared once, right
 * before the first section that needs it; the venv step is left out (no section runs a `command` stage; the
 * backend section sets up its own Keras venv).
 */

/** What a section needs before its process starts. */
export interface SectionNeeds {
  readonly name: string;
  /** Temporal + MinIO: the bench's dedicated stack. */
  readonly needsStack: boolean;
  /** tfjs (it trains, or runs workers whose stages train): the native binding checked or restored first. */
  readonly needsTf: boolean;
}

export type BenchStep =
  | { readonly kind: 'npm' }
  | { readonly kind: 'tf' }
  | { readonly kind: 'stack' }
  | { readonly kind: 'section'; readonly name: string };

/** npm dependencies first (tsx runs every section), then each prerequisite just before its first user. */
export function benchSteps(sections: readonly SectionNeeds[]): BenchStep[] {
  const steps: BenchStep[] = [{ kind: 'npm' }];
  let tf = false;
  let stack = false;
  for (const section of sections) {
    if (section.needsTf && !tf) steps.push({ kind: 'tf' });
    if (section.needsStack && !stack) steps.push({ kind: 'stack' });
    tf ||= section.needsTf;
    stack ||= section.needsStack;
    steps.push({ kind: 'section', name: section.name });
  }
  return steps;
}
