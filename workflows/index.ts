export * from './pipeline-run';
export * from './data-watcher';
