// Lint rules. The one that matters most: workflow code may not import anything that does I/O
// or is non-deterministic, so determinism is enforced by the linter, not by review.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**', 'bench/results/**', 'test/histories/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...NODE_BUILTINS.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: 'Workflow code must be deterministic: no Node built-ins.' })),
            ...['pg', '@electric-sql/pglite', 'nodemailer', 'express', 'pino', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'].map(
              (name) => ({
                name,
                message: 'Workflow code does no I/O: call an activity instead.',
              }),
            ),
          ],
          patterns: [
            {
              group: ['**/common/db', '**/common/db/*', '**/common/repositories/*', '**/common/mail/*', '**/common/config'],
              message: 'Workflow code does no I/O: call an activity instead.',
            },
            {
              group: ['**/activities', '**/activities/*'],
              allowTypeImports: true,
              message: 'Import activities as types only and call them through proxyActivities.',
            },
          ],
        },
      ],
    },
  },
  {
    // Configuration is read and validated once, in common/config.ts; everything else receives it.
    files: ['**/*.ts'],
    ignores: ['common/config.ts', '**/*.test.ts', 'test/**', 'bench/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings in common/config.ts and pass them in.' }],
    },
  },
);
