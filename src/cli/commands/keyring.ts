// Shared by commands that use the local keyring.
import { Keyring, defaultKeyringDir } from '../../keys/keyring.ts';
import type { PrivateKey } from '../../assertions/index.ts';
import { io } from '../io.ts';
import { passphrase } from '../passphrase.ts';

export function keyring(): Keyring {
  return new Keyring(defaultKeyringDir(io.env));
}

/** Loads a private key by name, asking for the passphrase if needed. */
export async function loadKey(name: string): Promise<PrivateKey> {
  const ring = keyring();
  await ring.publicKey(name); // a clear "no such key" before asking for a passphrase
  return ring.privateKey(name, await passphrase());
}
