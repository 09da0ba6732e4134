// Rewrites the error table of docs/errors.md from src/errors/catalog.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { withCurrentTable } from '../src/errors/catalog-doc.ts';

const path = new URL('../docs/errors.md', import.meta.url);
writeFileSync(path, withCurrentTable(readFileSync(path, 'utf8')));
