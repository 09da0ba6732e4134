// Signing an assertion through a Signer, for keys the process never holds in
// the clear (custody, HSM). Mirrors the core's sign/signAsync.
import { signWith, type Assertion, type AssertionType, type SignInput } from '../../assertions/index.ts';
import { KeyCustodyError } from './errors.ts';
import type { Signer } from './signer.ts';

/**
 * Signs an assertion of `type` with `signer` (signature time `when`). Unless
 * the signer checks its own signatures, the signature is checked against the
 * signer's public key before it is returned: a faulty signer must not hand
 * out bad assertions.
 */
export function signAssertion(type: AssertionType, input: SignInput, signer: Signer, when: Date): Promise<Assertion> {
  return signWith(type, input, signer.keyId, async (content) => {
    const signature = await signer.sign(content, when);
    if (signer.selfChecking) return signature;
    try {
      signer.publicKey.verify(content, signature);
    } catch (err) {
      throw new KeyCustodyError('key-signature-invalid', `signer ${signer.keyId} produced a signature that does not verify`, { cause: err });
    }
    return signature;
  });
}
