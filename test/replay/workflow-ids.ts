import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Beside the histories: the workflow id each was recorded under, for those whose decisions depend on it. */
export const WORKFLOW_IDS_FILE = 'workflow-ids.json';

/** History file name → the workflow id it was recorded under (only the histories that need it). */
export function recordedWorkflowIds(): Record<string, string> {
  const file = fileURLToPath(new URL(`./histories/${WORKFLOW_IDS_FILE}`, import.meta.url));
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
}
