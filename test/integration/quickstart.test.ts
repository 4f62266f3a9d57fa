import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, REPO_ROOT } from '../../sandbox/paths.js';
import { eventually } from '../support/sandbox.js';

/**
 * docs/quickstart.md, run as a reader would: every command of its ```sh blocks, in order, in a shell that sourced
 * the env file `npm start` printed. `npm start` runs for real (default topology, worker in process) in a cache of
 * its own whose binaries are linked from the real one, so a developer's own `npm start` is left alone; the one
 * liberty taken is the documented one: the env file's path is the one `npm start` printed. A command whose comment
 * says "exits N" must exit N; every other command must exit 0.
 */
let cache: string;
let workdir: string;
let started: ChildProcess | undefined;

beforeAll(async () => {
  cache = await mkdtemp(path.join(os.tmpdir(), 'barista-quickstart-'));
  for (const entry of await readdir(cacheDir())) if (entry !== 'run') await symlink(path.join(cacheDir(), entry), path.join(cache, entry));
  // the reader's checkout, without writing into ours: the docs (and their examples) are where the quickstart looks
  workdir = await mkdtemp(path.join(os.tmpdir(), 'barista-quickstart-cwd-'));
  await symlink(path.join(REPO_ROOT, 'docs'), path.join(workdir, 'docs'));
});
afterAll(async () => {
  if (started && started.exitCode === null && started.signalCode === null) {
    started.kill('SIGINT');
    await new Promise((r) => started!.once('exit', r));
  }
  await rm(cache, { recursive: true, force: true });
  await rm(workdir, { recursive: true, force: true });
});

/** The commands of the markdown's ```sh blocks, one per line, with the exit code each comment promises. */
function quickstartCommands(markdown: string): { command: string; exitCode: number }[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((block) => block.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => {
      const comment = /\s#\s(.*)$/.exec(line)?.[1] ?? '';
      return { command: line, exitCode: Number(/exits (\d+)/.exec(comment)?.[1] ?? 0) };
    });
}

function run(command: string, envFile: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `. '${envFile}' && ${command}`], {
      cwd: workdir,
      env: { PATH: process.env.PATH ?? '', HOME: os.homedir(), TERM: 'dumb' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('docs/quickstart.md runs top to bottom as written', async () => {
  const commands = quickstartCommands(await readFile(path.join(REPO_ROOT, 'docs', 'quickstart.md'), 'utf8'));
  expect(commands[0]?.command).toBe('npm start');
  const sourced = commands.find((c) => c.command.startsWith('source '));
  expect(sourced).toBeDefined();

  // npm start, as its prestart has already done its work here (the cache is provisioned)
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'sandbox', 'main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, BARISTA_CACHE: cache },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started = child;
  let printed = '';
  child.stdout.on('data', (d: Buffer) => (printed += d.toString()));
  child.stderr.on('data', (d: Buffer) => (printed += d.toString()));
  const up = await eventually(
    'npm start to be up',
    async () => {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${printed}`);
      return /Ctrl-C stops everything/.test(printed) ? printed : undefined;
    },
    180_000,
  );
  const envFile = /^ {2}source (\S+)$/m.exec(up)?.[1];
  expect(envFile).toBe(path.join(cache, 'run', 'default', 'env'));
  // the documented path, for the default cache
  expect(sourced!.command).toBe('source ~/.cache/barista/run/default/env');

  const transcript: string[] = [];
  for (const { command, exitCode } of commands.slice(1)) {
    if (command.startsWith('source ')) continue; // every command below runs in a shell that sourced it
    const { code, output } = await run(command, envFile!);
    transcript.push(`$ ${command}\n${output}`);
    if (code !== exitCode) throw new Error(`"${command}" exited ${code}, the quickstart says ${exitCode}:\n${transcript.join('\n')}`);
  }
  // what the reader was told to expect at the end
  const all = transcript.join('\n');
  expect(all).toMatch(/barista_pods_changed_total/);
  expect(all).toMatch(/shop/);
}, 900_000);
