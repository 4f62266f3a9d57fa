import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { DomainError } from '../domain/index.js';
import type { WebhookInput, WebhookView } from '../domain/notifications.js';
import { SA } from '../workflows/search-attributes.js';
import {
  removeWebhookUpdate,
  setWebhookUpdate,
  tenantNotificationsId,
  WebhookUpdateFailureTypes,
  webhooksQuery,
} from '../workflows/notification-definitions.js';
import type { ReleaseClient } from './release-client.js';

/**
 * A tenant's notification webhooks (docs/notifications.md), kept by its notifier workflow (which starts with the
 * first write). The body is validated by the route (400 naming the field); the workflow's validator checks what
 * needs the current webhooks (a new webhook without a secret, too many webhooks).
 */
export async function setWebhook(releases: ReleaseClient, tenant: string, webhook: WebhookInput, by: string): Promise<WebhookView> {
  try {
    return await releases.client.workflow.executeUpdateWithStart(setWebhookUpdate, {
      args: [{ webhook, by }],
      startWorkflowOperation: new WithStartWorkflowOperation('tenantNotifications', {
        workflowId: tenantNotificationsId(tenant),
        taskQueue: releases.taskQueue,
        args: [{ tenant, webhooks: [] }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: SA.tenant, value: tenant },
          { key: SA.kind, value: 'notifications' },
        ],
      }),
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new DomainError('INVALID_INPUT', err.cause?.message ?? err.message);
    throw err;
  }
}

export async function removeWebhook(releases: ReleaseClient, tenant: string, name: string, by: string): Promise<{ removed: string }> {
  try {
    return await releases.client.workflow
      .getHandle(tenantNotificationsId(tenant))
      .executeUpdate(removeWebhookUpdate, { args: [{ name, by }] });
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError')
      throw new DomainError('NOT_FOUND', `tenant ${tenant} has no webhook named ${name}`);
    if (err instanceof WorkflowUpdateFailedError) {
      const type = (err.cause as { type?: string } | undefined)?.type;
      throw new DomainError(type === WebhookUpdateFailureTypes.notFound ? 'NOT_FOUND' : 'INVALID_INPUT', err.cause?.message ?? err.message);
    }
    throw err;
  }
}

/** The tenant's webhooks as anyone may see them: never a secret, only `secretSet`. */
export async function listWebhooks(releases: ReleaseClient, tenant: string): Promise<WebhookView[]> {
  return releases.client.workflow
    .getHandle(tenantNotificationsId(tenant))
    .query(webhooksQuery)
    .catch((err: unknown) => {
      if ((err as Error).name === 'WorkflowNotFoundError') return [];
      throw err;
    });
}
