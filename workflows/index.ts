export * from './pipeline-run';
export * from './data-watcher';
export * from './hyperparameter-sweep';
