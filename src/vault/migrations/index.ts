// The vault's migrations, in order. Append new ones at the end; never edit,
// rename or reorder one that has been released (the names are in every
// database's ledger).
import type { ServiceMigrations } from '../../platform/db/index.ts';
import { vaultTables } from './0001-vault-tables.ts';
import { nonceOwner } from './0002-vault-nonce-owner.ts';

export const vaultMigrations: ServiceMigrations = { service: 'vault', migrations: [vaultTables, nonceOwner] };
