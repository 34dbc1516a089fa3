// Lint rules. The two that matter most: workflow code may not import anything that does I/O
// or is non-deterministic, so determinism is enforced by the linter, not by review; and SQL
// lives in the data-access layer only (common/db: pool, transactions, migrations, error
// translation; common/repositories: every statement).
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/** The data-access layer: the only code that holds SQL, imports the driver or opens a database. */
const DATA_LAYER = ['common/db/**', 'common/repositories/**'];
/** Processes that open the database themselves: the entry points, the test harness and tests, the benchmarks. */
const OPENS_DATABASE = ['cli/**', 'worker/main.ts', 'scim-server/main.ts', 'test/harness.ts', '**/*.test.ts', 'bench/**'];
/** Tests arrange and inspect the database with SQL of their own; the benchmarks seed it and read its statistics. */
const OWN_SQL = ['**/*.test.ts', 'test/faults/**', 'bench/**'];

/** The applications the server process serves, each a top-level folder. */
const APPLICATIONS = ['scim-server', 'admin', 'console', 'invitations'];
/** The layers below them. */
const LOWER_LAYERS = ['common', 'domain', 'policy', 'scim', 'activities', 'workflows', 'connectors', 'events'];
/** Drives the repositories through the SCIM API's list parameters and the outbox relay. */
const MAY_IMPORT_APPLICATIONS = ['common/repositories/repositories.int.test.ts'];

/**
 * One block per folder depth: a file `depth` folders down reaches a top-level folder with exactly
 * `depth` "../", so `../invitations` in a subfolder of activities/ (activities/invitations.ts) is
 * not taken for the invitation pages.
 */
function belowApplications() {
  const message = 'The layers below the applications do not import them: move what both need down (scim/ for the SCIM protocol, common/ for the rest).';
  return [1, 2, 3, 4, 5, 6].map((depth) => ({
    files: LOWER_LAYERS.map((layer) => `${layer}/${'*/'.repeat(depth - 1)}*.ts`),
    ignores: MAY_IMPORT_APPLICATIONS,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./){${depth}}(${APPLICATIONS.join('|')})(/|$)`, message }] }],
    },
  }));
}

/** What callers of the data layer may take from common/db besides types: the errors they act on. */
const DB_ERRORS = ['DatabaseUnavailableError', 'UniqueViolationError', 'StatementTimeoutError', 'InvalidDataError'];

/** Outside the data layer: types and errors from common/db (plus `opens`), never the driver or the db layer's modules. */
function dataLayerImports(opens = []) {
  const message = 'Only common/db and common/repositories reach the database: call a repository function (types and the db errors may be imported).';
  return [
    'error',
    {
      paths: ['pg'].map((name) => ({ name, message })),
      patterns: [
        { group: ['**/common/db', '**/common/db/index', '../db', './db'], allowTypeImports: true, allowImportNames: [...DB_ERRORS, ...opens], message },
        { group: ['**/common/db/*', '!**/common/db/index', '../db/*', './db/*'], allowTypeImports: true, message },
      ],
    },
  ];
}

/** SQL in a string or template literal (the statement's first keywords, as the repositories write them). */
const SQL = '/(^|[^A-Za-z_])(SELECT\\s|INSERT\\s+INTO\\s|UPDATE\\s+\\S+\\s+SET\\s|DELETE\\s+FROM\\s)/';
const SQL_MESSAGE = 'SQL belongs in a repository (common/repositories); call a repository function.';

/** Every Node built-in module (also those a hand-written list would miss), without the `_` internals. */
const NODE_BUILTINS = builtinModules.filter((m) => !m.startsWith('_'));

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**', 'bench/results/**', 'test/histories/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    // A promise nobody awaits loses its failure (an unhandled rejection, or a write that silently
    // did not happen): typed lint finds them. `void` marks the few fire-and-forget calls on purpose.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: [...DATA_LAYER, ...OPENS_DATABASE],
    rules: { '@typescript-eslint/no-restricted-imports': dataLayerImports() },
  },
  {
    files: OPENS_DATABASE,
    // The benchmarks' own PostgreSQL server is created through the driver (bench/lib/postgres.ts).
    ignores: [...DATA_LAYER, 'bench/lib/postgres.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': dataLayerImports(['openDatabase', 'openMemoryDatabase']) },
  },
  {
    files: ['**/*.ts'],
    ignores: [...DATA_LAYER, ...OWN_SQL],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: `Literal[value=${SQL}]`, message: SQL_MESSAGE },
        { selector: `TemplateElement[value.raw=${SQL}]`, message: SQL_MESSAGE },
      ],
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
            ...['pg', 'nodemailer', 'express', 'pino', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'].map((name) => ({
              name,
              message: 'Workflow code does no I/O: call an activity instead.',
            })),
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
  // The layers below the applications: the SCIM protocol (scim/), the shared code, the policy,
  // the workflows and their activities, the connectors. None of them imports an application (the
  // SCIM API, the admin API, the console, the invitation pages), which import them.
  ...belowApplications(),
  {
    // Configuration is read and validated once, in common/config.ts; everything else receives it.
    files: ['**/*.ts'],
    ignores: ['common/config.ts', '**/*.test.ts', 'test/**', 'bench/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings in common/config.ts and pass them in.' }],
    },
  },
);
