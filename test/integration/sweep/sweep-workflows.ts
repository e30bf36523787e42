/** Workflow entry the sweep tests bundle: only the sweep workflow, as the coordinator's workflows/index.ts will re-export it. */
export { hyperparameterSweep } from '../../../workflows/hyperparameter-sweep';
export { sweepSegmentWithRetries } from './segment-retry-workflow';
