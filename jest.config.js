/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  // Integration tests open real sockets and child processes; two workers match the 2-core machine.
  maxWorkers: 2,
  testTimeout: 30000,
};
