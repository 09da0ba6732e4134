// Sealing a private key at rest: AES-256-GCM under the current master key,
// with the key id as additional authenticated data, so a sealed key moved to
// another row (or altered in any byte) fails to open instead of signing.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeyCustodyError } from './errors.ts';
import type { MasterKeyRing } from './master-key.ts';

/** A sealed private key as stored: base64 fields and the sealing master key's id. */
export interface SealedKey {
  masterKeyId: string;
  iv: string;
  ciphertext: string;
  authTag: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

function aad(keyId: string): Buffer {
  return Buffer.from(`snapline signing key v1\0${keyId}`, 'utf8');
}

/** Seals `secret` (PKCS#8 DER) for the row of `keyId` under the ring's current key. */
export function sealKey(ring: MasterKeyRing, keyId: string, secret: Buffer): SealedKey {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', ring.current.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(keyId));
  const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
  return {
    masterKeyId: ring.current.id,
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    authTag: cipher.getAuthTag().toString('base64'),
  };
}

/** Opens a sealed key; throws master-key-unknown or key-decrypt-failed, never returns altered bytes. */
export function openSealedKey(ring: MasterKeyRing, keyId: string, sealed: SealedKey): Buffer {
  const master = ring.find(sealed.masterKeyId);
  if (!master) {
    throw new KeyCustodyError(
      'master-key-unknown',
      `signing key ${keyId} is sealed under master key ${sealed.masterKeyId}, which is not configured (configured: ${ring.ids.join(', ')})`,
    );
  }
  const iv = Buffer.from(sealed.iv, 'base64');
  const tag = Buffer.from(sealed.authTag, 'base64');
  const failed = (cause?: unknown) =>
    new KeyCustodyError('key-decrypt-failed', `signing key ${keyId} cannot be decrypted: its stored form was altered or belongs to another key`, { cause });
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw failed();
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(keyId));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch (err) {
    throw failed(err);
  }
}
