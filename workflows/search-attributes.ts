import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes on Barista's workflows, so `temporal workflow list --query` and the Temporal UI find
 * releases. The sandbox registers them; on another Temporal server register them once (docs/operations.md).
 */
export const SA = {
  app: defineSearchAttributeKey('BaristaApp', SearchAttributeType.KEYWORD),
  tenant: defineSearchAttributeKey('BaristaTenant', SearchAttributeType.KEYWORD),
  kind: defineSearchAttributeKey('BaristaKind', SearchAttributeType.KEYWORD),
  state: defineSearchAttributeKey('BaristaState', SearchAttributeType.KEYWORD),
  /** On the App releases a ticket starts: the ticket's id (releases listed by ticket). */
  ticket: defineSearchAttributeKey('BaristaTicket', SearchAttributeType.KEYWORD),
} as const;
