/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The staged deployment package (scripts/stage-package.sh) repeats package.json; not part of the tests.
  modulePathIgnorePatterns: ['<rootDir>/.deploy/'],
  // Tests start loopback servers; a hung socket must fail the run, not stall CI.
  testTimeout: 30000,
  setupFiles: ['<rootDir>/test/setup/functions-test-mode.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
};
