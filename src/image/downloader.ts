// The downloader: one self-contained function (it uses only what it is given
// and globals), so that the very same code runs on the main thread and, as
// its own source text, on worker threads, whether it comes from the sources or
// from the bundled CLI (a worker needs no loader for it). One HTTP/1.1 GET per job on a fresh
// connection (Content-Length, chunked or until-close bodies; other statuses
// handed back unread), its body read into the thread's one reused buffer and
// written to the destination file before the next read; hashed (SHA3-384) on
// the way only when no file hasher reads the files back (file-hasher.ts).
import type { createHash, Hash } from 'node:crypto';
import type { closeSync, openSync, writeSync } from 'node:fs';
import type net from 'node:net';
import type tls from 'node:tls';

export interface JobMessage {
  readonly id: number;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly dest: string;
  /** Reading stops after more than this many bytes. */
  readonly limit: number;
  readonly timeoutMs: number;
}

/**
 * Progress (`progress`: bytes written so far), then one of: a transport
 * `error`, a non-200 `status`, or the body's `size` with its `hex` digest
 * (hashing on the way) or the bytes `written` to the file (not hashing).
 */
export interface ResultMessage {
  readonly id: number;
  readonly progress?: number;
  readonly error?: string;
  readonly size?: number;
  readonly hex?: string;
  readonly written?: number;
  readonly status?: number;
  readonly location?: string;
}

export type MakeDownloader = (deps: {
  /** Hashes the bodies on the way; undefined: not here (the files are hashed later). */
  createHash: typeof createHash | undefined;
  net: typeof net;
  tls: () => typeof tls;
  openSync: typeof openSync;
  writeSync: typeof writeSync;
  closeSync: typeof closeSync;
  post: (m: ResultMessage) => void;
}) => (job: JobMessage) => void;

/** Makes the download function of one thread: results and progress go to deps.post. Must stay self-contained (see above). */
export const makeDownloader: MakeDownloader = ({ createHash, net, tls, openSync, writeSync, closeSync, post }) => {
  // One read buffer for all sockets of this thread: each read is hashed and
  // written before the callback returns, so the next read may reuse it.
  const readBuffer = Buffer.alloc(256 * 1024);
  const HEAD_LIMIT = 64 * 1024;
  const PROGRESS_STEP = 1 << 20;

  return function download({ id, url, headers, dest, limit, timeoutMs }: JobMessage): void {
    let socket: net.Socket | undefined;
    let head = Buffer.alloc(0);
    // left: bytes still to come (-1: until the connection closes); chunk: the chunked decoder's state.
    let body: { fd: number | undefined; hash: Hash | undefined; size: number; left: number; chunk: { state: 'size' | 'crlf' | 'trailer'; line: string; left: number } | undefined } | undefined;
    let done = false;
    let reported = 0;

    const finish = (result: Omit<ResultMessage, 'id'>): void => {
      if (done) return;
      done = true;
      if (socket) socket.destroy();
      if (body && body.fd !== undefined) {
        try {
          closeSync(body.fd);
        } catch {
          // already closed: nothing to release
        }
        body.fd = undefined;
      }
      post({ id, ...result });
    };
    const complete = (): void => {
      if (done || !body) return;
      const fd = body.fd;
      body.fd = undefined;
      if (fd !== undefined) closeSync(fd);
      finish(bodyResult(body.size));
    };
    /** The result for a body of `size` bytes, of which body.size were written. */
    const bodyResult = (size: number): Omit<ResultMessage, 'id'> => (body!.hash ? { size, hex: body!.hash.digest('hex') } : { size, written: body!.size });
    const data = (piece: Buffer): void => {
      if (piece.length === 0 || done || !body || body.fd === undefined) return;
      if (body.size + piece.length > limit) {
        // More than announced: stop here; the caller's size check reports it.
        return finish(bodyResult(body.size + piece.length));
      }
      body.hash?.update(piece);
      for (let off = 0; off < piece.length; ) off += writeSync(body.fd, piece, off, piece.length - off);
      body.size += piece.length;
      if (body.size >= reported + PROGRESS_STEP) {
        reported = body.size;
        post({ id, progress: body.size });
      }
    };
    const dechunk = (bytes: Buffer, c: NonNullable<NonNullable<typeof body>['chunk']>): void => {
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
      if (status !== 200) return finish({ status, ...(fields['location'] !== undefined ? { location: fields['location'] } : {}) });
      const coding = (fields['transfer-encoding'] || 'identity').toLowerCase();
      const length = fields['content-length'];
      if (coding !== 'identity' && !/(^|,)\s*chunked$/.test(coding)) throw new Error('unsupported transfer-encoding ' + coding);
      const chunked = coding !== 'identity';
      if (!chunked && length !== undefined && !/^\d+$/.test(length)) throw new Error('bad content-length ' + length);
      body = {
        fd: openSync(dest, 'w'),
        hash: createHash?.('sha3-384'),
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
      finish({ error: 'the connection closed before the end of the response' });
    };

    try {
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      const port = Number(u.port) || (secure ? 443 : 80);
      const lines = ['GET ' + u.pathname + u.search + ' HTTP/1.1', 'Host: ' + u.host];
      for (const [k, v] of Object.entries(headers)) {
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
            finish({ error: err instanceof Error ? err.message : String(err) });
          }
          return !done;
        },
      };
      socket = secure
        ? // tls.connect takes onread as net.connect does (documented; missing from @types/node).
          tls().connect({ host, port, onread, ...(net.isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] } as tls.ConnectionOptions)
        : net.connect({ host, port, onread });
      socket.setTimeout(timeoutMs, () => finish({ error: 'download timed out' }));
      socket.on('error', (err) => finish({ error: err.message }));
      socket.on('end', ended);
      socket.on('close', ended);
      socket.resume();
      socket.write(lines.join('\r\n'));
    } catch (err) {
      finish({ error: err instanceof Error ? err.message : String(err) });
    }
  };
};
