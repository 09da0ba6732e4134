// Verifying a signed model against the raw crypto.verify rate for the same
// key and bytes, measured in the same run. Target (issue 2): ratio >= 0.80.
// "Verifying" is TrustDatabase.check on a decoded model: signing key lookup,
// validity windows, signature packet parsing, hashing, RSA and the type's
// consistency checks. Decoding has its own target (bench/assertions-decode.ts);
// the rate of decoding and verifying together is printed too, for information.
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Signature, TrustDatabase, decode, decodeStream } from '../src/assertions/index.ts';
import { VECTORS_DIR } from '../test/helpers/vectors.ts';

const v = (f: string) => readFileSync(join(VECTORS_DIR, f));
const db = new TrustDatabase({ trusted: decodeStream(v('trusted-root.assert')), now: () => new Date() });
db.addBatch([decode(v('brand.account')), decode(v('brand.account-key'))]);
const modelText = v('model-core20.model');
const model = decode(modelText);

// The raw reference: the same hashed bytes and RSA signature, straight into crypto.verify.
const sig = Signature.decode(model.signatureText);
const trailer = Buffer.from([4, 0xff, 0, 0, 0, sig.hashedPart.length]);
const signed = Buffer.concat([model.content, sig.hashedPart, trailer]);
const key = db.get('account-key', [model.signKeyId]).data as { publicKey: { key: crypto.KeyObject } };
const rawSig = sig.rsaSignature;

/** Operations per second of fn over about `ms` milliseconds. */
function rate(fn: () => void, ms: number): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms * 1e6);
  let now = start;
  while (now < until) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const raw = () => {
  if (!crypto.verify('sha512', signed, key.publicKey.key, rawSig)) throw new Error('raw verify failed');
};
const decoded = decode(modelText);
const ours = () => db.check(decoded);
const oursWithDecode = () => db.check(decode(modelText));
for (let i = 0; i < 500; i++) {
  raw();
  ours();
  oursWithDecode();
}
// Interleave short runs of both so that load from other processes hits both alike;
// the median of the per-pair ratios is the figure.
const ratios: number[] = [];
const withDecode: number[] = [];
let rawSum = 0;
let oursSum = 0;
let bothSum = 0;
for (let r = 0; r < 30; r++) {
  const a = rate(raw, 80);
  const b = rate(ours, 80);
  const c = rate(oursWithDecode, 80);
  rawSum += a;
  oursSum += b;
  bothSum += c;
  ratios.push(b / a);
  withDecode.push(c / a);
}
const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const ratio = median(ratios);
console.log(`raw crypto.verify: ${(rawSum / 30).toFixed(0)}/s; verify model: ${(oursSum / 30).toFixed(0)}/s; decode + verify model: ${(bothSum / 30).toFixed(0)}/s`);
console.log(`ratio snapline-verify/raw-verify = ${ratio.toFixed(2)} (median of 30 interleaved runs; target >= 0.80) ${ratio >= 0.8 ? 'PASS' : 'FAIL'}`);
console.log(`ratio snapline-decode+verify/raw-verify = ${median(withDecode).toFixed(2)} (for information)`);
