import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  setHandler,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { ChangeWindowsSchema, type ChangeWindow } from '../domain/change-windows.js';
import { describeIssues, toFieldIssues } from '../domain/validation.js';
import { actorName, shapeError } from './action-inputs.js';

/** One long-lived workflow per tenant holding its settings: today its change windows (docs/tickets.md). */
export function tenantSettingsId(tenant: string): string {
  return `tenant/${tenant}`;
}

export interface TenantSettings {
  tenant: string;
  changeWindows: ChangeWindow[];
  updatedBy?: string;
  updatedAt?: string;
}

export const tenantSettingsQuery = defineQuery<TenantSettings>('tenant-settings');
export const setChangeWindowsUpdate = defineUpdate<TenantSettings, [{ windows: unknown; by: string }]>('set-change-windows');
/** Failure type of a refused `set-change-windows` (bad input): the settings are unchanged. */
export const SETTINGS_UPDATE_REFUSED = 'TenantSettingsRefused';

const SetChangeWindowsInput = z.strictObject(
  { windows: ChangeWindowsSchema, by: actorName },
  { error: shapeError('{"windows": [...], "by": "alice"}') },
);

/**
 * The windows and author of a `set-change-windows` input, or an ApplicationFailure naming each bad field. Run by the
 * validator (so a bad input is refused before it is accepted) and again by the handler, which may throw only a
 * Temporal failure: anything else would fail the workflow task.
 */
function parseSetChangeWindows(raw: unknown): { windows: ChangeWindow[]; by: string } {
  let parsed: ReturnType<typeof SetChangeWindowsInput.safeParse>;
  try {
    parsed = SetChangeWindowsInput.safeParse(raw);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`invalid input: ${err instanceof Error ? err.message : String(err)}`, SETTINGS_UPDATE_REFUSED);
  }
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(`invalid input: ${describeIssues(toFieldIssues(parsed.error))}`, SETTINGS_UPDATE_REFUSED);
  return parsed.data;
}

/** Updates before the workflow starts afresh with its settings (a short history at any age). */
const UPDATES_PER_RUN = 500;

export async function tenantSettings(initial: TenantSettings): Promise<void> {
  let settings = initial;
  let updates = 0;
  setHandler(tenantSettingsQuery, () => settings);
  // no signals: one sent by hand (`temporal workflow signal`) has no handler and is ignored
  setHandler(
    setChangeWindowsUpdate as UpdateDefinition<TenantSettings, [unknown]>,
    (raw: unknown) => {
      const { windows, by } = parseSetChangeWindows(raw);
      settings = { ...settings, changeWindows: windows, updatedBy: by, updatedAt: new Date().toISOString() };
      updates++;
      return settings;
    },
    { validator: (raw: unknown) => void parseSetChangeWindows(raw) },
  );
  await condition(() => updates >= UPDATES_PER_RUN);
  await condition(allHandlersFinished);
  await continueAsNew<typeof tenantSettings>(settings);
}
