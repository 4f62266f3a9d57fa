import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { DomainError, type AppSpec, type FieldIssue } from '../domain/index.js';
import { CHECK_CELLS_DEADLINE_SECONDS, checkCellsId, type CellCheck, type CheckCellsInput } from '../workflows/check-cells.js';
import { UnavailableError } from './errors.js';

/** How long the check may take in all, the worker picking it up included, before the API gives up (503). */
const CHECK_WORKFLOW_TIMEOUT_SECONDS = CHECK_CELLS_DEADLINE_SECONDS + 10;

/**
 * Refuses a placement that cannot work, before the App is registered: every cell must exist in some cluster and
 * belong to the App's tenant. The API has no cluster credentials, so a short `checkCells` workflow runs on the
 * worker's task queue. Unknown or foreign cell: DomainError naming `placement.cells[i]` (a foreign cell's
 * tenant is not told). A cluster that does not answer in time about a cell this change adds to the placement:
 * UnavailableError naming it (503). Cells of the `registered` placement that cannot be checked now pass: they
 * were checked when added, and an App must stay changeable while one of its clusters is down (disaster mode).
 */
export async function checkPlacement(client: Client, taskQueue: string, spec: AppSpec, registered: string[] = []): Promise<void> {
  const input: CheckCellsInput = { tenant: spec.tenant, workspace: spec.workspace, cells: spec.placement.cells };
  let checks: CellCheck[];
  try {
    checks = await client.workflow.execute('checkCells', {
      workflowId: checkCellsId(spec.tenant, spec.name, randomUUID()),
      taskQueue,
      args: [input],
      workflowExecutionTimeout: `${CHECK_WORKFLOW_TIMEOUT_SECONDS}s`,
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError)
      throw new UnavailableError(
        `the Barista worker on task queue ${taskQueue}`,
        `the placement check did not finish within ${CHECK_WORKFLOW_TIMEOUT_SECONDS}s (${err.cause?.message ?? err.message})`,
      );
    throw err;
  }
  const issues = placementIssues(spec, checks);
  if (issues.length) throw DomainError.invalid(issues);
  const unchecked = checks.filter((c) => c.outcome === 'unchecked' && !registered.includes(c.cell));
  if (unchecked.length) {
    const reasons = unchecked.map((c) => (c.outcome === 'unchecked' ? c.reason : '')).join('; ');
    const clusters = [...new Set([...reasons.matchAll(/cluster (\S+?):/g)].map((m) => m[1]!))];
    throw new UnavailableError(
      clusters.length ? `cluster ${clusters.join(', ')}` : `the clusters of tenant ${spec.tenant}`,
      `cells ${unchecked.map((c) => c.cell).join(', ')} could not be checked within ${CHECK_CELLS_DEADLINE_SECONDS}s: ${reasons}`,
    );
  }
}

/** One issue per unknown or foreign cell, naming its place in the placement. */
export function placementIssues(spec: Pick<AppSpec, 'tenant' | 'placement'>, checks: CellCheck[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  spec.placement.cells.forEach((cell, i) => {
    const check = checks.find((c) => c.cell === cell);
    if (check?.outcome === 'unknown')
      issues.push({ field: `placement.cells[${i}]`, message: `cell ${cell} does not exist in any cluster` });
    if (check?.outcome === 'foreign')
      issues.push({ field: `placement.cells[${i}]`, message: `cell ${cell} belongs to another tenant than ${spec.tenant}` });
  });
  return issues;
}
