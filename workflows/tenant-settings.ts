import { condition, continueAsNew, defineQuery, defineUpdate, setHandler, allHandlersFinished } from '@temporalio/workflow';
import { ChangeWindowsSchema, type ChangeWindow } from '../domain/change-windows.js';
import { describeIssues, toFieldIssues } from '../domain/validation.js';

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

export const setChangeWindowsUpdate = defineUpdate<TenantSettings, [{ windows: unknown; by: string }]>('set-change-windows');
export const tenantSettingsQuery = defineQuery<TenantSettings>('tenant-settings');

/** Updates before the workflow starts afresh with its settings (a short history at any age). */
const UPDATES_PER_RUN = 500;

export async function tenantSettings(initial: TenantSettings): Promise<void> {
  let settings = initial;
  let updates = 0;
  setHandler(tenantSettingsQuery, () => settings);
  setHandler(
    setChangeWindowsUpdate,
    ({ windows, by }) => {
      settings = { ...settings, changeWindows: ChangeWindowsSchema.parse(windows), updatedBy: by, updatedAt: new Date().toISOString() };
      updates++;
      return settings;
    },
    {
      validator: ({ windows, by }) => {
        if (typeof by !== 'string' || !by.trim()) throw new Error('by: who sets the windows is required');
        const parsed = ChangeWindowsSchema.safeParse(windows);
        if (!parsed.success) throw new Error(`invalid input: ${describeIssues(toFieldIssues(parsed.error))}`);
      },
    },
  );
  await condition(() => updates >= UPDATES_PER_RUN);
  await condition(allHandlersFinished);
  await continueAsNew<typeof tenantSettings>(settings);
}
