// One snap download: an HTTP/1.1 GET on a fresh connection (Content-Length,
// chunked or until-close bodies; other statuses handed back unread), its body
// read into one reused buffer and written to the destination file before the
// next read; hashed (SHA3-384) on the way only when no file hasher reads the
// file back (file-hasher.ts). Hand-written on purpose: undici, measured on
// bench/image-seed.ts, spent twice the CPU for the same bytes (a fresh 64 KiB
// buffer per socket read, and the garbage collection that follows) and built
// seeds 1.5-2 times slower (docs/image.md, Speed). Redirects, retries and
// digest checks are the caller's policy.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

/** One download, as the download pool runs it. */
export interface DownloadTask {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The file to write (created or truncated once a 200 answer arrives). */
  readonly dest: string;
  /** Reading stops after more than this many bytes (the announced size). */
  readonly limit: number;
  /** Idle time after which the download fails. */
  readonly timeoutMs: number;
}

/**
 * A 200 answer read to its end (or past `limit`: `size` then says how far):
 * `written` bytes are in the file, and `hex` is their digest when hashed on
 * the way. Or another status, not followed.
 */
export type DownloadOutcome =
  | { readonly kind: 'body'; readonly size: number; readonly written: number; readonly hex?: string }
  | { readonly kind: 'status'; readonly status: number; readonly location?: string };

export interface DownloadContext {
  /** Hash the body on the way (no file hasher reads the file back). */
  readonly hashHere: boolean;
  /** Bytes written so far, about every MiB. */
  readonly onProgress?: (bytes: number) => void;
}

const HEAD_LIMIT = 64 * 1024;
const PROGRESS_STEP = 1 << 20;
/**
 * One read buffer for every download of this thread: each read is hashed and
 * written before its callback returns, so the next read may reuse it (a fresh
 * buffer per read costs an allocation, first-touch page faults and GC).
 */
const readBuffer = Buffer.alloc(256 * 1024);

type ChunkState = { state: 'size' | 'crlf' | 'trailer'; line: string; left: number };

export function download(job: DownloadTask, { hashHere, onProgress }: DownloadContext): Promise<DownloadOutcome> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket | undefined;
    let head = Buffer.alloc(0);
    // left: bytes still to come (-1: until the connection closes); chunk: the chunked decoder's state.
    let body: { fd: number | undefined; hash: Hash | undefined; size: number; left: number; chunk: ChunkState | undefined } | undefined;
    let done = false;
    let reported = 0;

    const finish = (result: DownloadOutcome | Error): void => {
      if (done) return;
      done = true;
      socket?.destroy();
      if (body?.fd !== undefined) {
        try {
          closeSync(body.fd);
        } catch {
          // already closed: nothing to release
        }
        body.fd = undefined;
      }
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    /** The outcome for a body of `size` bytes, of which body.size were written. */
    const bodyOutcome = (size: number): DownloadOutcome => ({ kind: 'body', size, written: body!.size, ...(body!.hash ? { hex: body!.hash.digest('hex') } : {}) });
    const complete = (): void => {
      if (done || !body) return;
      const fd = body.fd;
      body.fd = undefined;
      if (fd !== undefined) closeSync(fd);
      finish(bodyOutcome(body.size));
    };
    const data = (piece: Buffer): void => {
      if (piece.length === 0 || done || !body || body.fd === undefined) return;
      if (body.size + piece.length > job.limit) {
        // More than announced: stop here; the caller's size check reports it.
        return finish(bodyOutcome(body.size + piece.length));
      }
      body.hash?.update(piece);
      for (let off = 0; off < piece.length; ) off += writeSync(body.fd, piece, off, piece.length - off);
      body.size += piece.length;
      if (body.size >= reported + PROGRESS_STEP) {
        reported = body.size;
        onProgress?.(body.size);
      }
    };
    const dechunk = (bytes: Buffer, c: ChunkState): void => {
      let i = 0;
      while (i < bytes.length && !done) {
        if (c.left > 0) {
          const n = Math.min(c.left, bytes.length - i);
          data(bytes.subarray(i, i + n));
          c.left -= n;
          i += n;
          if (c.left === 0) c.state = 'crlf';
          continue;
        }
        const nl = bytes.indexOf(10, i);
        const end = nl < 0 ? bytes.length : nl + 1;
        c.line += bytes.toString('latin1', i, end);
        i = end;
        if (c.line.length > 4096) throw new Error('bad chunked encoding in the response');
        if (nl < 0) return;
        const line = c.line.trim();
        c.line = '';
        if (c.state === 'crlf') {
          if (line !== '') throw new Error('bad chunked encoding in the response');
          c.state = 'size';
        } else if (c.state === 'trailer') {
          if (line === '') return complete();
        } else {
          const m = /^([0-9a-fA-F]{1,12})(;.*)?$/.exec(line);
          if (!m) throw new Error('bad chunked encoding in the response');
          c.left = parseInt(m[1]!, 16);
          if (c.left === 0) c.state = 'trailer';
        }
      }
    };
    const bodyBytes = (bytes: Buffer): void => {
      if (!body) return;
      if (body.chunk) return dechunk(bytes, body.chunk);
      if (body.left >= 0 && bytes.length >= body.left) {
        data(bytes.subarray(0, body.left));
        return complete();
      }
      data(bytes);
      if (body.left > 0) body.left -= bytes.length;
    };
    const headBytes = (bytes: Buffer): void => {
      // Copied: the read buffer is reused.
      head = Buffer.concat([head, bytes]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > HEAD_LIMIT) throw new Error('the response header is too large');
        return;
      }
      const lines = head.toString('latin1', 0, end).split('\r\n');
      const rest = head.subarray(end + 4);
      head = Buffer.alloc(0);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
      if (!m) throw new Error('not an HTTP/1.1 response');
      const status = Number(m[1]);
      const fields: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      if (status < 200) return rest.length > 0 ? headBytes(rest) : undefined; // interim (100 Continue)
      if (status !== 200) return finish({ kind: 'status', status, ...(fields['location'] !== undefined ? { location: fields['location'] } : {}) });
      const coding = (fields['transfer-encoding'] || 'identity').toLowerCase();
      const length = fields['content-length'];
      if (coding !== 'identity' && !/(^|,)\s*chunked$/.test(coding)) throw new Error('unsupported transfer-encoding ' + coding);
      const chunked = coding !== 'identity';
      if (!chunked && length !== undefined && !/^\d+$/.test(length)) throw new Error('bad content-length ' + length);
      body = {
        fd: openSync(job.dest, 'w'),
        hash: hashHere ? createHash('sha3-384') : undefined,
        size: 0,
        left: chunked || length === undefined ? -1 : Number(length),
        chunk: chunked ? { state: 'size', line: '', left: 0 } : undefined,
      };
      if (body.left === 0) return complete();
      if (rest.length > 0) bodyBytes(rest);
    };
    const ended = (): void => {
      if (done) return;
      if (body && body.left === -1 && !body.chunk) return complete();
      finish(new Error('the connection closed before the end of the response'));
    };

    try {
      const u = new URL(job.url);
      const secure = u.protocol === 'https:';
      const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      const port = Number(u.port) || (secure ? 443 : 80);
      const lines = ['GET ' + u.pathname + u.search + ' HTTP/1.1', 'Host: ' + u.host];
      for (const [k, v] of Object.entries(job.headers)) {
        if (/[\r\n]/.test(k + v)) throw new Error('invalid header ' + k);
        lines.push(k + ': ' + v);
      }
      lines.push('Connection: close', '', '');
      const onread = {
        buffer: readBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          try {
            const bytes = Buffer.from(buf.buffer, buf.byteOffset, n);
            if (body) bodyBytes(bytes);
            else headBytes(bytes);
          } catch (err) {
            finish(err as Error);
          }
          return !done;
        },
      };
      socket = secure
        ? // tls.connect takes onread as net.connect does (documented; missing from @types/node).
          tls.connect({ host, port, onread, ...(net.isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] } as tls.ConnectionOptions)
        : net.connect({ host, port, onread });
      socket.setTimeout(job.timeoutMs, () => finish(new Error('download timed out')));
      socket.on('error', (err) => finish(err));
      socket.on('end', ended);
      socket.on('close', ended);
      socket.resume();
      socket.write(lines.join('\r\n'));
    } catch (err) {
      finish(err as Error);
    }
  });
}
