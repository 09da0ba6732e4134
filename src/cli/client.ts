// The HTTP client of the server commands: the server URL from --url,
// $SNAPLINE_URL or the last `snapline login`; the token from $SNAPLINE_TOKEN
// or that login. Errors come back as CliErrors with the server's code.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, io } from './io.ts';

export interface Credentials {
  url: string;
  token: string;
  username?: string;
}

export function credentialsFile(): string {
  return io.env['SNAPLINE_CREDENTIALS'] || join(homedir(), '.snapline', 'credentials.json');
}

export async function readCredentials(): Promise<Credentials | undefined> {
  try {
    return JSON.parse(await readFile(credentialsFile(), 'utf8')) as Credentials;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${credentialsFile()}: ${(err as Error).message}`);
  }
}

export async function saveCredentials(c: Credentials): Promise<void> {
  const file = credentialsFile();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
}

export interface ApiClient {
  readonly url: string;
  request(method: string, path: string, body?: unknown, opts?: { accept?: string }): Promise<Response>;
  json<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  text(method: string, path: string, body?: unknown, accept?: string): Promise<string>;
}

/** A client for the server at --url (or $SNAPLINE_URL, or the login's URL). */
export async function apiClient(opts: { url?: string; requireToken?: boolean }): Promise<ApiClient> {
  const saved = await readCredentials();
  const url = (opts.url ?? io.env['SNAPLINE_URL'] ?? saved?.url)?.replace(/\/+$/, '');
  if (!url) throw new CliError('no server: give --url, set SNAPLINE_URL, or run `snapline login --url URL`');
  const token = io.env['SNAPLINE_TOKEN'] || (saved && saved.url.replace(/\/+$/, '') === url ? saved.token : undefined);
  if (opts.requireToken !== false && !token) throw new CliError('not logged in: set SNAPLINE_TOKEN or run `snapline login`');
  const request = async (method: string, path: string, body?: unknown, o: { accept?: string } = {}) => {
    let res: Response;
    try {
      res = await fetch(url + path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          accept: o.accept ?? 'application/json',
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new CliError(`cannot reach ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
    }
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const e = (await res.json()) as { error?: { code?: string; message?: string } };
        if (e.error?.message) message = `${e.error.message} (${e.error.code ?? res.status})`;
      } catch {
        // not JSON: keep the status line
      }
      throw new CliError(message);
    }
    return res;
  };
  return {
    url,
    request,
    json: async <T>(method: string, path: string, body?: unknown) => (await (await request(method, path, body)).json()) as T,
    text: async (method: string, path: string, body?: unknown, accept?: string) => (await request(method, path, body, accept ? { accept } : {})).text(),
  };
}
