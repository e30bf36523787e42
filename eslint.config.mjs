// Lint is part of `npm test`. Workflow files get the determinism rules from
// Temporal's samples: no Node built-ins, no floating promises.
import { readFileSync } from 'node:fs';
import tseslint from 'typescript-eslint';

// Modules that may be bundled into workflows; test/unit/architecture/workflow-imports.test.ts checks the real bundle.
const workflowSafe = JSON.parse(readFileSync(new URL('./workflow-safe.json', import.meta.url), 'utf8'));

const nodeBuiltins = [
  'fs',
  'fs/promises',
  'path',
  'os',
  'child_process',
  'crypto',
  'http',
  'https',
  'net',
  'stream',
  'worker_threads',
  'process',
  'timers',
  'dns',
  'zlib',
  'url',
  'util',
  'events',
];

export default tseslint.config(
  { ignores: ['bin/**', 'node_modules/**', 'dist/**', '.fineflow/**', 'bench/keras/**', 'infra/tfjs-native/build/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    files: [...workflowSafe.dirs.map((dir) => `${dir}**/*.ts`), ...workflowSafe.files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins,
            ...nodeBuiltins.map((m) => `node:${m}`),
            '@tensorflow/tfjs',
            '@tensorflow/tfjs-node',
            'minio',
          ].map((name) => ({
            name,
            message: 'Workflow code must be deterministic: no Node built-ins, tfjs or network clients.',
          })),
        },
      ],
    },
  },
);
