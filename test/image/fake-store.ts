// A small snapd-protocol store for the image tests (protocol doc 6.5, 6.9,
// 6.10): POST /v2/snaps/refresh answering `download` actions, GET
// /v2/assertions/<type>/<pk...> (200 with the assertion, or 404
// application/problem+json not-found), GET /download/<file>. Brand-store
// snaps are visible only to requests naming the store in Snap-Device-Store.
// Listens on 127.0.0.1, port 0; records every request for header checks.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertionType, fillPrimaryKey, type Assertion } from '../../src/assertions/index.ts';
import { parseChannel } from '../../src/channel/channel.ts';

export interface FakeSnap {
  readonly name: string;
  readonly snapId: string;
  readonly revision: number;
  /** Store type (`os`, never `core`). */
  readonly type: string;
  readonly version: string;
  readonly publisherId: string;
  /** From snap.yaml; sent in the snap object as stores do. */
  readonly base?: string;
  readonly bytes: Buffer;
  /** Full channel names it is released to (`latest/stable`, `18/stable`). */
  readonly channels: readonly string[];
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export class FakeStore {
  readonly requests: RecordedRequest[] = [];
  /** Snap names whose downloads are served with other bytes than announced. */
  readonly corrupt = new Set<string>();
  private server: http.Server | undefined;
  /** Every snap action's actions, as received (tests check what was asked). */
  readonly actions: Record<string, unknown>[] = [];
  private readonly assertions = new Map<string, Assertion>();
  url = '';

  constructor(
    readonly storeId: string,
    readonly snaps: FakeSnap[],
    assertions: readonly Assertion[],
  ) {
    for (const a of assertions) this.addAssertion(a);
  }

  addAssertion(a: Assertion): void {
    this.assertions.set(`${a.type}/${a.primaryKey.join('/')}`, a);
  }

  removeAssertion(type: string, pk: readonly string[]): void {
    const t = assertionType(type)!;
    this.assertions.delete(`${type}/${fillPrimaryKey(t, pk)!.join('/')}`);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        try {
          this.handle(req, res, body);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => {
      this.server?.closeAllConnections();
      this.server?.close(() => r());
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && u.pathname === '/v2/snaps/refresh') return this.snapAction(req, res, body);
    if (req.method === 'GET' && u.pathname.startsWith('/v2/assertions/')) {
      const [type, ...pk] = u.pathname.slice('/v2/assertions/'.length).split('/').map(decodeURIComponent);
      const t = assertionType(type!);
      let a: Assertion | undefined;
      if (t?.sequenceForming && u.searchParams.get('sequence') === 'latest') {
        // The newest point of a sequence (snapd's SeqFormingAssertion).
        a = [...this.assertions.values()].filter((x) => x.type === type && x.primaryKey.slice(0, -1).join('/') === pk.join('/')).sort((x, y) => Number(y.primaryKey.at(-1)) - Number(x.primaryKey.at(-1)))[0];
      } else {
        const full = t ? fillPrimaryKey(t, pk) : undefined;
        a = full ? this.assertions.get(`${type}/${full.join('/')}`) : undefined;
      }
      if (!a) {
        res.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ 'error-list': [{ code: 'not-found', message: 'not found' }] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x.ubuntu.assertion' }).end(a.encode());
      return;
    }
    if (req.method === 'GET' && u.pathname.startsWith('/download/')) {
      const file = u.pathname.slice('/download/'.length);
      const s = this.snaps.find((x) => `${x.name}_${x.revision}.snap` === file);
      if (!s) {
        res.writeHead(404).end();
        return;
      }
      let bytes = s.bytes;
      if (this.corrupt.has(s.name)) {
        bytes = Buffer.from(bytes);
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes);
      return;
    }
    res.writeHead(418).end();
  }

  private snapAction(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const j = JSON.parse(body) as { actions: { action: string; 'instance-key': string; name?: string; channel?: string; revision?: number; 'validation-sets'?: string[][] }[] };
    this.actions.push(...j.actions);
    const store = req.headers['snap-device-store'];
    const results = j.actions.map((a) => {
      const ik = a['instance-key'];
      const candidates = store === this.storeId ? this.snaps.filter((s) => s.name === a.name) : [];
      if (a.action !== 'download' || candidates.length === 0) {
        return { result: 'error', 'instance-key': ik, name: a.name, error: { code: 'name-not-found', message: `snap not found: ${a.name}` } };
      }
      const ch = parseChannel(a.channel ?? 'stable');
      // Conventional fall-through: a risk with nothing released follows the next more stable one.
      const risks = ['edge', 'beta', 'candidate', 'stable'];
      const tries = ch.branch ? [`${ch.track}/${ch.risk}/${ch.branch}`] : risks.slice(risks.indexOf(ch.risk)).map((r) => `${ch.track}/${r}`);
      let want = '';
      let s: FakeSnap | undefined;
      // An explicit revision (validation sets pin one) wins over channels.
      if (a.revision !== undefined) {
        s = candidates.find((c) => c.revision === a.revision);
        want = s?.channels[0] ?? '';
      }
      for (const t of a.revision !== undefined ? [] : tries) {
        s = candidates.filter((c) => c.channels.includes(t)).sort((x, y) => y.revision - x.revision)[0];
        if (s) {
          want = t;
          break;
        }
      }
      if (!s) {
        return { result: 'error', 'instance-key': ik, name: a.name, 'snap-id': candidates[0]!.snapId, error: { code: 'revision-not-found', message: 'no snap revision available as specified' } };
      }
      return {
        result: 'download',
        'instance-key': ik,
        'snap-id': s.snapId,
        name: s.name,
        'effective-channel': want,
        snap: {
          name: s.name,
          'snap-id': s.snapId,
          revision: s.revision,
          type: s.type,
          version: s.version,
          ...(s.base ? { base: s.base } : {}),
          epoch: { read: [0], write: [0] },
          confinement: 'strict',
          architectures: ['all'],
          publisher: { id: s.publisherId, username: s.publisherId, 'display-name': s.publisherId, validation: 'verified' },
          download: { url: `${this.url}download/${s.name}_${s.revision}.snap`, 'sha3-384': createHash('sha3-384').update(s.bytes).digest('hex'), size: s.bytes.length },
        },
      };
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results, 'error-list': [] }));
  }
}
