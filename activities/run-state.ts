/**
 * Run-state activities: `pipelineRun` keeps its plan and carried state in the object store across
 * continue-as-new (src/core/run/stored-run-state.ts). They run on the workflow's own (control) task
 * queue, like the cache activities; src/storage/run-state-store.ts does the work.
 */
import type {
  ReadRunStatePartInput,
  RemoveRunStateInput,
  RunStatePartInput,
  SealRunStateInput,
  StoredRunStateRef,
} from '../src/core/run/stored-run-state';
import type { ObjectStore } from '../src/storage/object-store';
import { readRunStatePart, removeRunState, sealRunState, writeRunStatePart } from '../src/storage/run-state-store';

export function createRunStateActivities(store: ObjectStore) {
  return {
    writeRunStatePart: (input: RunStatePartInput): Promise<void> => writeRunStatePart(store, input),
    sealRunState: (input: SealRunStateInput): Promise<StoredRunStateRef> => sealRunState(store, input),
    readRunStatePart: (input: ReadRunStatePartInput): Promise<string> => readRunStatePart(store, input),
    removeRunState: (input: RemoveRunStateInput): Promise<void> => removeRunState(store, input),
  };
}
