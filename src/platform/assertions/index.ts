// Storage of signed assertions in the platform database.
export * from './assertions.repo.ts';
export type { AssertionTables, AssertionsTable } from './assertions.tables.ts';
