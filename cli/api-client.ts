import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface CliConfig {
  endpoint: string;
  token: string;
}

const CONFIG_FILE = path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'barista', 'config.json');

/** Endpoint and token: BARISTA_ENDPOINT / BARISTA_TOKEN, else the file written by `barista configure`. */
export async function loadConfig(): Promise<CliConfig> {
  let file: Partial<CliConfig> = {};
  try {
    file = JSON.parse(await readFile(CONFIG_FILE, 'utf8')) as Partial<CliConfig>;
  } catch {
    // no file yet
  }
  const endpoint = process.env.BARISTA_ENDPOINT ?? file.endpoint;
  const token = process.env.BARISTA_TOKEN ?? file.token;
  if (!endpoint || !token)
    throw new CliError('not configured: run `barista configure --endpoint URL --token TOKEN` or set BARISTA_ENDPOINT and BARISTA_TOKEN');
  return { endpoint, token };
}

export async function saveConfig(config: CliConfig): Promise<string> {
  await mkdir(path.dirname(CONFIG_FILE), { recursive: true });
  await writeFile(CONFIG_FILE, JSON.stringify(config, null, 2), { mode: 0o600 });
  await chmod(CONFIG_FILE, 0o600);
  return CONFIG_FILE;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The fields a 400 of the API named, as it named them. */
    readonly issues?: { field: string; message: string }[],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Calls the HTTP API; an error answer becomes a CliError carrying the API's message and field issues. */
export async function api<T>(
  config: CliConfig,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await fetch(`${config.endpoint.replace(/\/$/, '')}${route}`, {
    method,
    headers: { authorization: `Bearer ${config.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const payload = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const p = payload as { error?: string; issues?: { field: string; message: string }[] } | undefined;
    const issues = p?.issues?.map((i) => `\n  ${i.field}: ${i.message}`).join('') ?? '';
    throw new CliError(`${res.status}: ${p?.error ?? text}${issues}`, res.status === 401 || res.status === 403 ? 4 : 1, p?.issues);
  }
  return payload as T;
}
