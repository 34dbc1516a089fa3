/**
 * Two projects: `unit` (pure logic, *.test.ts, no services) and `integration`
 * (*.int.test.ts, against a real Temporal dev server, PostgreSQL and SMTP started once by
 * test/global-setup.ts). Files run one at a time: the services are shared and the machine small.
 */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  // jose (events/signing.ts) is published as ES modules only; Node loads it with require(esm),
  // jest's CommonJS runtime does not, so its files are compiled to CommonJS like ours.
  '^.+/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
};
const common = {
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/data/'],
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  // `npm run build`'s output mirrors the source tree: never a module jest resolves or maps.
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};
module.exports = {
  testTimeout: 120_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/**/*.test.ts', '!**/*.int.test.ts', '!**/*.fault.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/*.int.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
    {
      // Fault scenarios: processes killed, services stopped; slower, run after the rest.
      ...common,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.fault.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
};
