// Decoding a ~1 MiB stream of 1,000 assertions. Target (issue 2): >= 50 MB/s.
// Printed as a ratio against the target and against a plain split of the
// same bytes on blank lines (a lower bound any decoder pays), measured in the same run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelType, decodeStream, encodeStream, sign, type Assertion } from '../src/assertions/index.ts';
import { PrivateKey } from '../src/assertions/index.ts';
import { VECTORS_DIR } from '../test/helpers/vectors.ts';

const key = PrivateKey.fromPem(readFileSync(join(VECTORS_DIR, 'keys/brand.pkcs8.pem')));
const assertions: Assertion[] = [];
for (let i = 0; i < 1000; i++) {
  assertions.push(
    sign(
      ModelType,
      {
        headers: {
          'authority-id': 'acme',
          series: '16',
          'brand-id': 'acme',
          model: `model-${i}`,
          architecture: 'amd64',
          base: 'core22',
          grade: 'signed',
          snaps: [
            { name: 'pc', type: 'gadget', id: 'UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH', 'default-channel': '22/stable' },
            { name: 'pc-kernel', type: 'kernel', id: 'pYVQrBcKmBa0mZ4CCN7ExT6jH8rY1hza', 'default-channel': '22/stable' },
            { name: 'hello', id: 'buPKUD3TKqCOgLEjjHx5kSiCpIs5cMuQ', presence: 'optional' },
          ],
          timestamp: '2026-01-01T00:00:00Z',
        },
        body: 'x'.repeat(i % 7 === 0 ? 1 : 0),
      },
      key,
      new Date(),
    ),
  );
}
const stream = encodeStream(assertions);
const mb = stream.length / 1e6;

function time(fn: () => void, reps: number): number {
  fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e9 / reps;
}

const ours = Math.min(...[0, 1, 2].map(() => time(() => decodeStream(stream), 10)));
const split = Math.min(...[0, 1, 2].map(() => time(() => stream.toString('utf8').split('\n\n'), 10)));
const rate = mb / ours;
console.log(`stream: ${stream.length} bytes, ${assertions.length} assertions`);
console.log(`decode: ${rate.toFixed(1)} MB/s (${(ours * 1000).toFixed(1)} ms); plain split: ${(mb / split).toFixed(0)} MB/s`);
console.log(`ratio snapline/target(50 MB/s) = ${(rate / 50).toFixed(2)} (target >= 1.00) ${rate >= 50 ? 'PASS' : 'FAIL'}`);
console.log(`ratio snapline/plain-split = ${(split / ours).toFixed(3)}`);
