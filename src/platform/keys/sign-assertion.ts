// Signing an assertion through a Signer, for keys the process never holds in
// the clear (custody, HSM). Mirrors the core's sign/signAsync.
import { AssertionError, buildContent, decode, type Assertion, type AssertionType, type SignInput } from '../../assertions/index.ts';
import { KeyCustodyError } from './errors.ts';
import type { Signer } from './signer.ts';

/**
 * Signs an assertion of `type` with `signer` (signature time `when`). The
 * signature is checked against the signer's public key before it is
 * returned: a faulty signer must not hand out bad assertions.
 */
export async function signAssertion(type: AssertionType, input: SignInput, signer: Signer, when: Date): Promise<Assertion> {
  const { content } = buildContent(type, input, signer.keyId);
  const signature = await signer.sign(content, when);
  try {
    signer.publicKey.verify(content, signature);
  } catch (err) {
    throw new KeyCustodyError('key-signature-invalid', `signer ${signer.keyId} produced a signature that does not verify`, { cause: err });
  }
  try {
    // decode() assembles and checks the headers exactly as for a received assertion.
    return decode(Buffer.concat([content, Buffer.from('\n\n'), Buffer.from(signature + '\n')]));
  } catch (err) {
    if (!(err instanceof AssertionError)) throw err;
    throw new AssertionError('assertion-sign-refused', `cannot assemble assertion ${type.name}: ${err.message}`);
  }
}
