// The table of every assertion type Snapline understands (snapd 2.57 plus
// authority-delegation from later snapd). Adding a type = one module + one line here.
import type { AssertionType } from './assertion.ts';
import { AccountType } from './types/account.ts';
import { AccountKeyRequestType, AccountKeyType } from './types/account-key.ts';
import { ModelType } from './types/model.ts';
import { DeviceSessionRequestType, SerialRequestType, SerialType } from './types/serial.ts';

export const ASSERTION_TYPES: readonly AssertionType[] = [
  AccountType,
  AccountKeyType,
  AccountKeyRequestType,
  ModelType,
  SerialType,
  SerialRequestType,
  DeviceSessionRequestType,
] as AssertionType[];

const byName = new Map(ASSERTION_TYPES.map((t) => [t.name, t]));

export function assertionType(name: string): AssertionType | undefined {
  return byName.get(name);
}
