// U-Boot environment files as snapd writes them (bootloader/ubootenv): a
// 4-byte little-endian CRC-32 (IEEE) of the payload, one padding byte (room
// for a redundant environment's flag), then the payload: `key=value\0` in
// key order, one more `\0`, and 0xff up to the file's fixed size. Used for
// uboot.env (UC16/18) and boot.sel (UC20+). Pure; written by hand because it
// is twenty lines and must match snapd's bytes (no npm package writes this
// exact layout).
import { crc32 } from 'node:zlib';
import { ImageError } from './errors.ts';

const HEADER = 5;
/** What snapd creates when the gadget's uboot.conf is empty. */
export const DEFAULT_UBOOT_ENV_SIZE = 4096;

/** Reads an environment (the gadget's uboot.conf); a bad CRC is refused, as snapd refuses it. */
export function parseUbootEnv(bytes: Buffer, what: string): { size: number; vars: Map<string, string> } {
  if (bytes.length < HEADER) throw new ImageError('image-gadget-invalid', `${what}: a U-Boot environment of ${bytes.length} bytes is smaller than its header`);
  const payload = bytes.subarray(HEADER);
  if (bytes.readUInt32LE(0) !== crc32(payload)) throw new ImageError('image-gadget-invalid', `${what}: bad CRC, not a U-Boot environment`);
  const end = payload.indexOf(Buffer.from([0, 0]));
  const vars = new Map<string, string>();
  for (const line of (end >= 0 ? payload.subarray(0, end) : payload).toString('latin1').split('\0')) {
    const eq = line.indexOf('=');
    // snapd opens best-effort: lines that are not key=value are skipped.
    if (line === '' || line.charCodeAt(0) === 0xff || eq <= 0) continue;
    vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return { size: bytes.length, vars };
}

export function writeUbootEnv(vars: ReadonlyMap<string, string>, size: number): Buffer {
  const keys = [...vars.keys()].sort();
  const text = keys.map((k) => `${k}=${vars.get(k)}\0`).join('') + '\0' + (keys.length === 0 ? '\0' : '');
  const data = Buffer.from(text, 'latin1');
  if (data.length > size - HEADER) throw new ImageError('image-output', `the U-Boot environment needs ${data.length + HEADER} bytes, more than its ${size}`);
  const payload = Buffer.concat([data, Buffer.alloc(size - HEADER - data.length, 0xff)]);
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(crc32(payload), 0);
  return Buffer.concat([header, payload]);
}
