import { SandboxError } from './errors.js';

/** What `npm start` is asked to run. */
export interface StartOptions {
  /** Run the Barista worker (and its gate keepers) in this process; false: `npm run worker` runs it (fault drills). */
  worker: boolean;
  help: boolean;
}

export const START_USAGE = [
  'usage: npm start [-- --no-worker]',
  '  --no-worker   start the sandbox and the HTTP API without the Barista worker (also BARISTA_START_WORKER=0);',
  '                run the worker as its own process: source the env file npm start prints, then `npm run worker`',
  '                (docs/operations.md, "Fault drills")',
].join('\n');

/** `npm start`'s arguments and BARISTA_START_WORKER (0/false/no: no worker); anything else is refused with the usage. */
export function parseStartOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): StartOptions {
  const flag = env.BARISTA_START_WORKER?.trim().toLowerCase();
  const options: StartOptions = { worker: !(flag && ['0', 'false', 'no', 'off'].includes(flag)), help: false };
  for (const arg of argv) {
    if (arg === '--no-worker') options.worker = false;
    else if (arg === '--worker') options.worker = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else throw new SandboxError('INVALID_INPUT', `unknown argument ${JSON.stringify(arg)}\n${START_USAGE}`);
  }
  return options;
}
