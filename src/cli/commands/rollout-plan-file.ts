// `snapline release … --plan FILE`: a rollout plan file, YAML or JSON (JSON
// is YAML), read and checked here with the store's own parsePlan so that a
// mistake is named before anything is sent; the store checks it again.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { parsePlan, PlanError } from '../../rollout/index.ts';
import { CliError } from '../io.ts';

export async function readPlanFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the plan file ${path}: ${(err as Error).message}`);
  }
  let plan: unknown;
  try {
    plan = parse(text);
  } catch (err) {
    throw new CliError(`the plan file ${path} is not YAML or JSON: ${(err as Error).message}`);
  }
  try {
    parsePlan(plan);
  } catch (err) {
    if (err instanceof PlanError) throw new CliError(`invalid rollout plan in ${path}: ${err.message}`);
    throw err;
  }
  return plan as Record<string, unknown>;
}
