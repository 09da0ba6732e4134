// The device's HTTP transport over node's fetch: requests with a time limit
// (snapd: 30 s for the vault, 10 s for the store; here one limit), bounded
// bodies, downloads streamed to a temporary file and hashed (SHA3-384) on the
// way. Transport failures become TransportError with snapd's classification.
// I/O adapter.
import { createHash, randomBytes } from 'node:crypto';
import { open, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TransportError, type Downloaded, type HttpRequest, type HttpResponse, type Transport } from './io.ts';

const MAX_BODY = 16 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

export interface FetchTransportOptions {
  /** Where downloads go until committed. */
  downloadDir: string;
  timeoutMs?: number;
}

function classify(err: unknown): TransportError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code ?? '';
  const msg = `${(err as Error).message}${cause?.message ? `: ${cause.message}` : ''}${code ? ` (${code})` : ''}`;
  if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') return new TransportError('retryable', `timeout: ${msg}`);
  if (code === 'ENOTFOUND') return new TransportError('fatal', msg);
  if (code === 'ENETUNREACH' || code === 'ENETDOWN' || code === 'EAI_AGAIN') return new TransportError('no-network', msg);
  return new TransportError('retryable', msg);
}

function headersOf(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => (out[k.toLowerCase()] = v));
  return out;
}

async function readBounded(res: Response, limit: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Uint8Array).length;
    if (size > limit) throw new TransportError('retryable', `the answer is over ${limit} bytes`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

export function fetchTransport(o: FetchTransportOptions): Transport {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const send = async (req: HttpRequest, signal: AbortSignal): Promise<Response> => {
    try {
      return await fetch(req.url, { method: req.method, headers: req.headers, ...(req.body ? { body: req.body } : {}), signal, redirect: 'follow' });
    } catch (err) {
      throw classify(err);
    }
  };
  return {
    async request(req) {
      const res = await send(req, AbortSignal.timeout(timeoutMs));
      let body: Buffer;
      try {
        body = await readBounded(res, MAX_BODY);
      } catch (err) {
        throw err instanceof TransportError ? err : classify(err);
      }
      return { status: res.status, headers: headersOf(res.headers), body } satisfies HttpResponse;
    },
    async download(req) {
      // No overall time limit on downloads (snapd has a minimum-speed guard instead); the headers must come in time.
      const ctl = new AbortController();
      const headerTimer = setTimeout(() => ctl.abort(), timeoutMs);
      let res: Response;
      try {
        res = await send(req, ctl.signal);
      } finally {
        clearTimeout(headerTimer);
      }
      const headers = headersOf(res.headers);
      if (res.status !== 200 && res.status !== 206) {
        let errorBody: Buffer;
        try {
          errorBody = await readBounded(res, MAX_ERROR_BODY);
        } catch {
          errorBody = Buffer.alloc(0);
        }
        return { status: res.status, headers, file: undefined, size: 0, sha3384Hex: '', errorBody } satisfies Downloaded;
      }
      await mkdir(o.downloadDir, { recursive: true });
      const file = join(o.downloadDir, `.partial-${randomBytes(8).toString('hex')}`);
      const fh = await open(file, 'wx', 0o644);
      const hash = createHash('sha3-384');
      let size = 0;
      try {
        if (res.body) {
          for await (const chunk of res.body) {
            const b = chunk as Uint8Array;
            hash.update(b);
            size += b.length;
            await fh.write(b);
          }
        }
      } catch (err) {
        await fh.close();
        await rm(file, { force: true });
        throw err instanceof TransportError ? err : classify(err);
      }
      await fh.close();
      return { status: res.status, headers, file, size, sha3384Hex: hash.digest('hex') } satisfies Downloaded;
    },
  };
}
