import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createGreetingActivities } from '../fixtures/greeting-activities.js';
import { connectSandbox, uniqueName } from '../support/sandbox.js';

test('a workflow runs to completion on the sandbox Temporal server', async () => {
  const { info } = await connectSandbox();
  const taskQueue = uniqueName('greeting');
  const nativeConnection = await NativeConnection.connect({ address: info.temporalAddress });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: info.temporalNamespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../fixtures/greeting-workflow.ts', import.meta.url)),
    activities: createGreetingActivities('Hello'),
  });
  const connection = await Connection.connect({ address: info.temporalAddress });
  const client = new Client({ connection, namespace: info.temporalNamespace });
  try {
    const workflowId = uniqueName('greet');
    const result = await worker.runUntil(client.workflow.execute('greetingWorkflow', { taskQueue, workflowId, args: ['barista'] }));
    expect(result).toBe('Hello, barista');
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
});
