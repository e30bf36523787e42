/**
 * Import rules checked in `npm test` (scripts/test.sh, after lint): no circular imports, and
 * imports only in the direction of the layers. Workflow determinism itself is enforced by
 * ESLint's rules on workflow files and by test/unit/architecture/workflow-imports.test.ts,
 * which inspects what the workflow bundle really contains.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular imports hide layering mistakes; move the shared part down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'product-not-from-tests',
      severity: 'error',
      comment: 'Product code and benchmarks must not depend on test code; move the shared helper into src/.',
      from: { path: '^(src|workflows|activities|bench)/' },
      to: { path: '^test/' },
    },
    {
      name: 'library-not-from-cli',
      severity: 'error',
      comment: 'The CLI is a face over the client library, never the other way round.',
      from: { path: '^(src/(?!cli/|demo/)|workflows/|activities/)' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'core-is-closed',
      severity: 'error',
      comment:
        'src/core is the workflow-safe side of the line: it imports only src/core (move the shared part into src/core, or keep the I/O outside it).',
      from: { path: '^src/core/' },
      to: { dependencyTypesNot: ['type-only'], pathNot: '^src/core/|@temporalio/(workflow|common)' },
    },
    {
      name: 'workflows-pure',
      severity: 'error',
      comment: 'Workflow code must stay deterministic: no Node built-ins, network clients or tfjs, even indirectly.',
      from: { path: '^workflows/' },
      to: {
        dependencyTypesNot: ['type-only'],
        path: '^(node:|minio$|@tensorflow/|@temporalio/(client|worker|activity)$)|^(fs|path|os|child_process|crypto|http|https|net|stream|zlib|url|util|events|dns|worker_threads)$',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|build|\\.fineflow)/' },
  },
};
