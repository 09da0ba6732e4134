// Shared pieces of the device tests: the vectors' trust world (root, brand
// vectors-brand and its key), a model and serials signed on the spot, a fake
// clock that advances instead of sleeping, and a scripted transport.
import { decodeStream, formatTimestamp, ModelType, SerialType, sign, type Assertion, type ModelData, type PrivateKey } from '../../src/assertions/index.ts';
import type { Clock, Downloaded, HttpRequest, HttpResponse, Transport } from '../../src/device/io.ts';
import { vectorBytes, vectorKey } from '../helpers/vectors.ts';

export const BRAND = 'vectors-brand';

export function trustedRoot(): Assertion[] {
  return [...decodeStream(vectorBytes('root.account')), ...decodeStream(vectorBytes('root.account-key'))];
}

/** The brand's account and account-key, signed by the vectors' root. */
export function brandChain(): Assertion[] {
  return [...decodeStream(vectorBytes('brand.account')), ...decodeStream(vectorBytes('brand.account-key'))];
}

export const T0 = new Date('2026-01-01T00:00:00Z');

export function testModel(extra: Record<string, unknown> = {}): Assertion<ModelData> {
  return sign(
    ModelType,
    { headers: { 'authority-id': BRAND, 'brand-id': BRAND, series: '16', model: 'box', architecture: 'amd64', gadget: 'box-gadget', kernel: 'box-kernel', timestamp: formatTimestamp(new Date('2025-06-01T00:00:00Z')), ...extra } },
    vectorKey('brand'),
    T0,
  ) as Assertion<ModelData>;
}

export function testSerial(deviceKey: PrivateKey, opts: { serial?: string; model?: string; brand?: string; signer?: PrivateKey; authority?: string } = {}): Assertion {
  const pub = deviceKey.publicKey;
  return sign(
    SerialType,
    {
      headers: {
        'authority-id': opts.authority ?? opts.brand ?? BRAND,
        'brand-id': opts.brand ?? BRAND,
        model: opts.model ?? 'box',
        serial: opts.serial ?? 'box-0001',
        'device-key': pub.encode(),
        'device-key-sha3-384': pub.id,
        timestamp: formatTimestamp(new Date('2025-12-01T00:00:00Z')),
      },
    },
    opts.signer ?? vectorKey('brand'),
    T0,
  );
}

/** A clock whose sleep advances time at once and records how long it was asked to wait. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private t = T0.getTime()) {}
  now(): Date {
    return new Date(this.t);
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

export type Handler = (req: HttpRequest, n: number) => HttpResponse | Promise<HttpResponse>;

/** A transport answering from `handler`, recording every request. */
export class ScriptedTransport implements Transport {
  readonly requests: HttpRequest[] = [];
  constructor(private readonly handler: Handler) {}
  async request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push(req);
    return this.handler(req, this.requests.length);
  }
  async download(req: HttpRequest): Promise<Downloaded> {
    this.requests.push(req);
    throw new Error('no downloads in this script');
  }
  paths(): string[] {
    return this.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`);
  }
}

export function json(status: number, v: unknown, contentType = 'application/json'): HttpResponse {
  return { status, headers: { 'content-type': contentType }, body: Buffer.from(JSON.stringify(v)) };
}

export function text(status: number, body: string, contentType = 'text/html'): HttpResponse {
  return { status, headers: { 'content-type': contentType }, body: Buffer.from(body) };
}

export function stream(status: number, as: Assertion[]): HttpResponse {
  return { status, headers: { 'content-type': 'application/x.ubuntu.assertion' }, body: Buffer.concat(as.flatMap((a, i) => (i ? [Buffer.from('\n'), a.encode()] : [a.encode()]))) };
}
