// The Signer contract: what signs assertions. Key custody implements it over
// sealed database rows and over keys in a PKCS#11 token (key-custody.ts).
import type { PrivateKey, PublicKey } from '../../assertions/index.ts';

/** Something that signs with one RSA key, off the event loop. */
export interface Signer {
  /** snapd key id (sign-key-sha3-384) */
  readonly keyId: string;
  readonly publicKey: PublicKey;
  /** Signs assertion content; returns the signature block (as PrivateKey.sign does). */
  sign(content: Buffer, when: Date): Promise<string>;
  /**
   * True when a wrong signature cannot come out: the key is an OpenSSL key in
   * this process whose public part was checked against keyId when it was
   * loaded, and OpenSSL checks each RSA-CRT result with the public exponent
   * before releasing it (its defence against fault attacks). Other signers
   * (an HSM, say) have each signature verified.
   */
  readonly selfChecking?: boolean;
}

/** A Signer over a private key held in memory (tests, the CLI keyring). */
export function privateKeySigner(key: PrivateKey): Signer {
  return {
    keyId: key.id,
    publicKey: key.publicKey,
    selfChecking: true,
    sign: (content, when) => key.signAsync(content, when),
  };
}
