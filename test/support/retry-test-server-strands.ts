import { jest } from '@jest/globals';

/**
 * Workflow tests run on Temporal's time-skipping test server, a Java emulator with bugs of its own that now and then
 * strand a run our workflows drive correctly (sdk-java#3088: a workflow task cancelling a timer that fired
 * meanwhile is refused and the run is left without a task; the real server in the integration project handles it).
 * Three full CI runs in a row each lost one such test, each time a different one, none failing when run again.
 * So a failed workflow test runs once more, its first failure printed in full: a test that fails twice fails the run.
 */
jest.retryTimes(1, { logErrorsBeforeRetry: true });
