// Requests node's HTTP parser refuses before fastify sees them: a header block
// over the limit, a malformed request line, a request that timed out. They are
// answered on the socket itself, in the error shape of the routes the request
// line names, and with `Connection: close`: the socket is closed after the
// answer, so a client's keep-alive pool must not send its next request on it
// (fastify's own answer omits the header, and the client's next request fails
// with "socket hang up").
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { renderProblem, type ErrorShape, type Problem } from './error-shapes.ts';

interface ParserError extends Error {
  code?: string;
  /** What the parser had read (a Buffer; fastify's types describe its JSON form). */
  rawPacket?: unknown;
}

/** The problem for a parser error (node's codes: HPE_* from llhttp, ERR_HTTP_REQUEST_TIMEOUT). */
function problemOfParserError(err: ParserError): Problem {
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'headers-too-large', message: 'the request headers are over the size limit' };
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'request-timeout', message: 'the request did not arrive in time' };
  return { status: 400, code: 'bad-request', message: 'the request cannot be parsed as HTTP/1.1' };
}

/** The path of the request line the parser had read, if it got that far. */
export function requestPath(raw: unknown): string | undefined {
  if (!Buffer.isBuffer(raw)) return undefined;
  const line = raw.subarray(0, Math.min(raw.length, 8192)).toString('latin1').split('\r\n', 1)[0]!;
  const target = /^[A-Z]+ (\/\S*) HTTP\/1\.[01]$/.exec(line)?.[1];
  return target?.split('?', 1)[0];
}

export function clientErrorHandler(shapeOfPath: (path: string) => ErrorShape, log: (problem: Problem, err: Error) => void) {
  return (err: ParserError, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || socket.destroyed) return;
    const problem = problemOfParserError(err);
    log(problem, err);
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const path = requestPath(err.rawPacket);
    const out = renderProblem(path ? shapeOfPath(path) : 'platform', problem);
    const head = [
      `HTTP/1.1 ${out.status} ${STATUS_CODES[out.status] ?? ''}`,
      ...Object.entries(out.headers).map(([k, v]) => `${k}: ${v}`),
      `content-length: ${out.body.length}`,
      'connection: close',
      '',
      '',
    ].join('\r\n');
    socket.end(Buffer.concat([Buffer.from(head, 'latin1'), out.body]), () => socket.destroy());
  };
}
