// Name syntaxes shared by assertion types (snapd asserts/*.go, snap/naming).

export const ACCOUNT_ID = /^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$/;
/**
 * snapd's `^(?:[a-z0-9]+-?)*[a-z](?:-?[a-z0-9])*$` (account-key and snap names),
 * rewritten to run in linear time: the nested quantifiers of the original
 * backtrack exponentially in a backtracking engine (30 digits and a "!" took
 * seconds), and names come from untrusted input. Same language: lowercase
 * letters, digits and single inner hyphens, at least one letter.
 */
const LETTERED_NAME = /^(?!-)(?!.*--)(?=.*[a-z])[a-z0-9-]*[a-z0-9]$/;
export const ACCOUNT_KEY_NAME = LETTERED_NAME;
export const MODEL_NAME = /^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/;
export const SNAP_ID = /^[a-z0-9A-Z]{32}$/;
export const PROVENANCE = /^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/;
export const SYSTEM_LABEL = /^[a-z0-9](?:-?[a-z0-9])*$/;
export const VALIDATION_SET_NAME = /^[a-z0-9](?:-?[a-z0-9])*$/;
const SNAP_NAME = LETTERED_NAME;

export const DEFAULT_PROVENANCE = 'global-upload';

export function isValidAccountId(id: string): boolean {
  return ACCOUNT_ID.test(id);
}

/** snapd's snap name rule: 2-40 chars of [a-z0-9-], at least one letter, no leading/trailing or double hyphen. */
export function isValidSnapName(name: string): boolean {
  return name.length >= 2 && name.length <= 40 && SNAP_NAME.test(name);
}

/** Model names: alphanumerics and single hyphens, no uppercase. */
export function isValidModelName(name: string): boolean {
  return MODEL_NAME.test(name) && name === name.toLowerCase();
}

export function isValidSnapId(id: string): boolean {
  return SNAP_ID.test(id);
}
