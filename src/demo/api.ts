// The demo talks to its server over HTTP with the administrator's token, as
// the CLI and the console do: nothing the demo makes goes around the API.
import { DemoError } from './errors.ts';

export interface ApiClient {
  readonly url: string;
  json<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
  upload<T = Record<string, unknown>>(path: string, bytes: Buffer): Promise<T>;
}

export function apiClient(url: string, token: string): ApiClient {
  const call = async <T>(method: string, path: string, init: { body?: string | Buffer; type?: string }): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(init.type ? { 'content-type': init.type } : {}) },
        ...(init.body !== undefined ? { body: init.body } : {}),
      });
    } catch (err) {
      throw new DemoError('demo-step-failed', `${method} ${path}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let why = text.slice(0, 300);
      try {
        const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
        if (e?.message) why = `${e.message} (${e.code})`;
      } catch {
        // not JSON: the text as is
      }
      throw new DemoError('demo-step-failed', `${method} ${path}: ${res.status} ${why}`);
    }
    return (text ? JSON.parse(text) : {}) as T;
  };
  return {
    url,
    json: (method, path, body) => call(method, path, body === undefined ? {} : { body: JSON.stringify(body), type: 'application/json' }),
    upload: (path, bytes) => call('POST', path, { body: bytes, type: 'application/octet-stream' }),
  };
}
