// A worker thread of `snapline fleet keys`: makes RSA device keys, one per
// message, and answers each with its PKCS#8 PEM. RSA key generation is slow
// (RSA-4096: about 0.1 to 1 s per key per core), so keys.ts runs one of
// these per core. I/O adapter (a worker module). Plain JavaScript: node 20
// does not run a worker through the TypeScript loader the sources use, and
// dist/ bundles it as its own entry point (scripts/build.js).
import { generateKeyPairSync } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ bits: number }} */
const { bits } = workerData;

parentPort.on('message', (/** @type {{ seq: number }} */ msg) => {
  try {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
    parentPort.postMessage({ seq: msg.seq, pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) });
  } catch (err) {
    parentPort.postMessage({ seq: msg.seq, error: err instanceof Error ? err.message : String(err) });
  }
});
