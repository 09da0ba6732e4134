// The table of every assertion type Snapline understands: exactly snapd 2.57's
// registry (authority-delegation is exported but deliberately not listed, see
// types/authority-delegation.ts). Adding a type = one module + one line here.
import type { AssertionType } from './assertion.ts';
import { AccountType } from './types/account.ts';
import { AccountKeyRequestType, AccountKeyType } from './types/account-key.ts';
import { ModelType } from './types/model.ts';
import { DeviceSessionRequestType, SerialRequestType, SerialType } from './types/serial.ts';
import { SnapDeclarationType } from './types/snap-declaration.ts';
import { SnapRevisionType } from './types/snap-revision.ts';
import { SnapBuildType } from './types/snap-build.ts';
import { SnapDeveloperType } from './types/snap-developer.ts';
import { ValidationType } from './types/validation.ts';
import { BaseDeclarationType } from './types/base-declaration.ts';
import { StoreType } from './types/store.ts';
import { SystemUserType } from './types/system-user.ts';
import { ValidationSetType } from './types/validation-set.ts';
import { RepairType } from './types/repair.ts';
import { PreseedType } from './types/preseed.ts';

export const ASSERTION_TYPES: readonly AssertionType[] = [
  AccountType,
  AccountKeyType,
  AccountKeyRequestType,
  ModelType,
  SerialType,
  SerialRequestType,
  DeviceSessionRequestType,
  SnapDeclarationType,
  SnapRevisionType,
  SnapBuildType,
  SnapDeveloperType,
  ValidationType,
  BaseDeclarationType,
  StoreType,
  SystemUserType,
  ValidationSetType,
  RepairType,
  PreseedType,
] as AssertionType[];

const byName = new Map(ASSERTION_TYPES.map((t) => [t.name, t]));

export function assertionType(name: string): AssertionType | undefined {
  return byName.get(name);
}
