// What the vault's admin API answers (src/vault/vault-admin.service.ts, vault.repo.ts).

export interface VaultKey {
  name: string;
  keyId: string;
  bits: number;
  createdAt: string;
  disabledAt: string | null;
  registered?: boolean;
}

export interface VaultModel {
  id: number;
  brandId: string;
  model: string;
  keyId: string;
  authorityId: string;
  serialTemplate: string;
  serialPattern: string;
  allowProposed: boolean;
  duplicates: string;
  remodelFrom: string[];
  createdAt: string;
}

export interface ApiKey {
  id: number;
  name: string;
  models: string[];
  maxSerials: number | null;
  usedSerials: number;
  validFrom: string | null;
  validUntil: string | null;
  revokedAt: string | null;
  createdAt: string;
  createdBy: string;
}

export interface LogEntry {
  id: number;
  brandId: string;
  model: string;
  serial: string;
  deviceKeyId: string;
  signedAt: string;
  apiKeyId: number | null;
  apiKeyName: string;
  requestId: string;
  origin: string;
  userAgent: string;
  remodelFrom: string;
  pending: boolean;
}

export interface LogPage {
  entries: LogEntry[];
  nextBefore: number | null;
}
