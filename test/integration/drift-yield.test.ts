import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DriftClient } from '../../api/drift-client.js';
import { visibilityQuery } from '../../api/release-client.js';
import { createReleaseQueueActivities } from '../../activities/index.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * A release takes its App over from running drift repairs first (awaitDriftYield). A run whose worker is gone never
 * takes the Update: the release must be told so within the accept deadline and go on, not fail and retry for ever.
 * On the real Temporal server, through a native connection as the worker's activities have: there the deadline
 * shows as CANCELLED "Timeout expired", which was rethrown and left a release in `planning` (a CI failure).
 */
let sandbox: TestSandbox;
let connection: NativeConnection;
let client: Client;
const started: string[] = [];

beforeAll(async () => {
  sandbox = await connectSandbox();
  connection = await NativeConnection.connect({ address: sandbox.info.temporalAddress });
  client = new Client({ connection, namespace: sandbox.info.temporalNamespace });
});
afterAll(async () => {
  for (const id of started)
    await client.workflow
      .getHandle(id)
      .terminate('drift-yield test done')
      .catch(() => undefined);
  await connection?.close();
});

test('a drift run no worker polls is reported unanswered within the deadline; the release is not held', async () => {
  const tenant = uniqueName('yield');
  // a drift run on a queue nobody polls: its worker is gone
  const run = await new DriftClient(client, `nobody-${tenant}`).startDriftRun(tenant, { by: 'test' });
  started.push(run.workflowId);
  await eventually('the run listed by visibility', async () => {
    for await (const wf of client.workflow.list({ query: visibilityQuery({ BaristaKind: 'drift', BaristaTenant: tenant }) }))
      if (wf.workflowId === run.workflowId) return true;
    return undefined;
  });
  const { awaitDriftYield } = createReleaseQueueActivities(client);
  const asked = Date.now();
  const answer = await new MockActivityEnvironment().run(awaitDriftYield, { tenant, app: 'web', release: 'release/x' });
  expect(answer).toEqual({ waitedFor: [], unanswered: [run.workflowId] });
  expect(Date.now() - asked).toBeLessThan(60_000);
}, 120_000);
