import { liveDetail, renderTicket, type LiveRelease } from '../../../cli/tickets.js';
import type { TicketStatus } from '../../../workflows/ticket-definitions.js';

const ticket: TicketStatus = {
  id: 't-1',
  tenant: 'acme',
  title: 'payments',
  requestedBy: 'alice',
  state: 'running',
  approval: 'none',
  onFailure: 'halt',
  maxParallel: 4,
  levels: [['a', 'd'], ['b']],
  apps: [
    { app: 'a', dependsOn: [], level: 0, state: 'succeeded', revision: 3, attempts: 1 },
    {
      app: 'd',
      dependsOn: [],
      level: 0,
      state: 'running',
      revision: 2,
      attempts: 1,
      release: { workflowId: 'release/acme/d', runId: 'r1' },
    },
    { app: 'b', dependsOn: ['a'], level: 1, state: 'waiting', reason: 'waits for a', attempts: 0 },
  ],
  audit: [],
  createdAt: '2026-11-27T00:00:00Z',
};

const release = (o: Partial<LiveRelease>): LiveRelease => ({ state: 'running', groups: [], gates: [], ...o });
const groups = (n: number) => Array.from({ length: n }, (_, index) => ({ index, beta: false, pods: [] }));

test('a running app shows its release: group, state, a gate waiting, a change window', () => {
  expect(liveDetail(release({ currentGroup: 1, groups: groups(3) }))).toBe('group 2/3 running');
  expect(
    liveDetail(
      release({
        state: 'waiting-approval',
        currentGroup: 0,
        groups: groups(3),
        gates: [{ group: 0, type: 'manual', state: 'waiting' }],
      }),
    ),
  ).toBe('group 1/3 waiting-approval, gate 1 manual waiting');
  expect(
    liveDetail(
      release({ state: 'waiting-window', currentGroup: 2, groups: groups(3), window: { name: 'year-end', until: '2027-01-03T00:00:00Z' } }),
    ),
  ).toBe("group 3/3 waiting-window, change freeze 'year-end' until 2027-01-03T00:00:00Z");
});

test('the ticket view draws each level with its apps, the running ones with their live release', () => {
  const lines = renderTicket(ticket, new Map([['d', release({ currentGroup: 0, groups: groups(2) })]]));
  expect(lines).toEqual([
    'ticket acme/t-1 "payments": running',
    '  level 0: a succeeded (rev 3) · d running (rev 2, group 1/2 running)',
    '  level 1: b waiting (waits for a)',
  ]);
  expect(renderTicket(ticket)[1]).toBe('  level 0: a succeeded (rev 3) · d running (rev 2)');
});
