// The console's one way to the server: the same JSON APIs the CLI uses, with
// the session's bearer token. The token lives in memory only (never in
// storage or a cookie): a reload signs out, and no other page can send it.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let token: string | undefined;
let onUnauthorized: (() => void) | undefined;

export function setToken(value: string | undefined): void {
  token = value;
}

/** Called when the server refuses the token (expired, revoked): the session ends. */
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  if (res.ok) return res;
  throw await errorOf(res);
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `http-${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string }; code?: string; message?: string };
    code = body.error?.code ?? body.code ?? code;
    message = body.error?.message ?? body.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401 && token) onUnauthorized?.();
  return new ApiError(res.status, code, message);
}

export async function getJson<T>(path: string, query?: Query): Promise<T> {
  return (await (await send('GET', withQuery(path, query))).json()) as T;
}

export async function getText(path: string, query?: Query): Promise<string> {
  return (await send('GET', withQuery(path, query))).text();
}

export async function postJson<T>(path: string, body: unknown, method = 'POST'): Promise<T> {
  return (await (await send(method, path, body)).json()) as T;
}

export async function deleteJson<T>(path: string): Promise<T> {
  return (await (await send('DELETE', path)).json()) as T;
}

/** Fetches with the token and hands the browser the file (an export). */
export async function download(path: string, query: Query, fileName: string): Promise<void> {
  const res = await send('GET', withQuery(path, query));
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves text the page already holds (a JSON model to sign offline). */
export function saveText(text: string, fileName: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const enc = encodeURIComponent;
