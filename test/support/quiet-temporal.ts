import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log warnings and errors only; lifecycle chatter would bury the test output.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this worker process
}
