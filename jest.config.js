/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // tsconfig.json sets isolatedModules, so ts-jest transpiles each file alone (fast); `npm run typecheck` checks types.
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // Integration tests open real sockets and child processes; two workers match the 2-core machine.
  maxWorkers: 2,
  testTimeout: 30000,
};
