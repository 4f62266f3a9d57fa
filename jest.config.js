/**
 * Three projects: `unit` (pure domain logic, no I/O), `workflow` (the real workflows on Temporal's
 * time-skipping test server with fake activities: fast, no sandbox) and `integration` (real Temporal server
 * and real kube-apiservers from the sandbox, started once by the global setup and shared by every test file).
 */
const ts = { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] };
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: ts,
  // sources import './x.js' (ESM style); jest resolves them to the .ts files
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** @type {import('jest').Config} */
export default {
  // one test file at a time: the sandbox (7 control planes, Temporal, simulated kubelets) already keeps both cores
  // busy; two files at once made scenario tests time out under load (a replacement pod left unbound for 90 s)
  maxWorkers: 1,
  testTimeout: 180_000, // integration tests drive real control planes; unit tests finish long before
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'workflow',
      testMatch: ['<rootDir>/test/workflow/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/support/quiet-temporal.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/retry-test-server-strands.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/scenario/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.js',
      globalTeardown: '<rootDir>/test/support/global-teardown.js',
      setupFiles: ['<rootDir>/test/support/quiet-temporal.ts'],
      slowTestThreshold: 60,
    },
  ],
};
