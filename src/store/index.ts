// The brand store (docs/store.md). `StoreService` holds the store's rules for
// every caller (routes, update control, the web console, the device agent);
// `storePlugin` is what `snapline serve` mounts.
export { storePlugin } from './store.plugin.ts';
export { StoreService } from './store.service.ts';
export { PublishingService, PUBLISH_ROLES, READ_ROLES, COLLABORATOR_ADMIN_ROLES, type SnapTarget, type StoreTarget, type RevisionView } from './publishing.service.ts';
export { SessionsService, type Device, type DeviceContext, type DeviceSession } from './sessions.service.ts';
export { SnapActionService, type AssertionRequest, type DownloadFile } from './snap-action.service.ts';
export { StoreError, SessionError, CohortKeyError, type StoreErrorCode } from './store.errors.ts';
export type { CreateStoreInput, RegisterSnapInput, ReleaseInput, CloseInput, CollaboratorInput, SessionRequestInput, SnapActionInput, FindInput, CohortsInput } from './store.schemas.ts';
export { cohortIdentity, type Cohort } from './cohorts.ts';
export { storeMigrations } from './migrations/index.ts';
export type { StoreTables, StoreOwnTables } from './store.tables.ts';
export * from './channels.ts';
