/**
 * Browser end-to-end tests: a real JupyterLab from the .venv, Debian's
 * chromium driven by playwright-core, the real torchclad kernel. One test file
 * at a time (they start servers and a browser); the global setup checks the
 * prerequisites and installs the current lab extension into the .venv.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  maxWorkers: 1,
  testTimeout: 60000,
  globalSetup: '<rootDir>/global-setup.js'
};
