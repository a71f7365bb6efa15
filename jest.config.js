/** Jest runs TypeScript through SWC; type checking is `npm run typecheck` (tsc --noEmit). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/tools'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  globalSetup: '<rootDir>/test/support/report-corpus.ts',
  setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
  testTimeout: 60000,
};
