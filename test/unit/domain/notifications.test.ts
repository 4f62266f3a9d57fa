import { toFieldIssues } from '../../../domain/validation.js';
import { MAX_WEBHOOKS, upsertWebhook, wantsEvent, WebhookInputSchema, webhookView, type Webhook } from '../../../domain/notifications.js';

const issues = (input: unknown) => {
  const parsed = WebhookInputSchema.safeParse(input);
  return parsed.success ? [] : toFieldIssues(parsed.error);
};
const hook = (name: string, o: Partial<Webhook> = {}): Webhook => ({
  name,
  url: `https://hooks.example/${name}`,
  secret: '0123456789abcdef',
  updatedBy: 'ada',
  updatedAt: '2026-11-27T00:00:00.000Z',
  ...o,
});

describe('webhook input', () => {
  test.each([
    ['ftp://hooks.example/x', 'url', 'must be an http:// or https:// URL'],
    ['javascript:alert(1)', 'url', 'must be an http:// or https:// URL'],
    ['hooks.example/x', 'url', 'must be an http:// or https:// URL'],
  ])('%s is refused', (url, field, message) => {
    expect(issues({ name: 'a', url, secret: '0123456789abcdef' })).toEqual([{ field, message }]);
  });

  test('http and https URLs pass; the secret counts bytes, not characters', () => {
    expect(issues({ name: 'a', url: 'http://127.0.0.1:9000/x', secret: '0123456789abcdef' })).toEqual([]);
    expect(issues({ name: 'a', url: 'https://hooks.example', secret: '0123456789abcdef' })).toEqual([]);
    expect(issues({ name: 'a', url: 'https://hooks.example', secret: '0123456789abcde' })).toEqual([
      { field: 'secret', message: 'must be at least 16 bytes' },
    ]);
    expect(issues({ name: 'a', url: 'https://hooks.example', secret: 'ééééééééé' })).toEqual([]); // 9 characters, 18 bytes
  });

  test('events: known ones, each once, at least one', () => {
    expect(issues({ name: 'a', url: 'https://h.example', events: ['paused', 'paused'] })).toEqual([
      { field: 'events', message: 'names an event twice' },
    ]);
    expect(issues({ name: 'a', url: 'https://h.example', events: [] })[0]?.field).toBe('events');
    expect(issues({ name: 'a', url: 'https://h.example', events: ['boom'] })[0]?.field).toBe('events[0]');
  });
});

describe('upsertWebhook', () => {
  test('a new webhook needs a secret; a changed one keeps its own unless given one', () => {
    expect(upsertWebhook([], { name: 'a', url: 'https://h.example' }, 'ada', 'now')).toEqual({
      ok: false,
      field: 'secret',
      reason: 'is required for a new webhook (at least 16 bytes)',
    });
    const kept = upsertWebhook([hook('a')], { name: 'a', url: 'https://other.example', events: ['failed'] }, 'bob', 'later');
    expect(kept).toEqual({
      ok: true,
      webhooks: [{ ...hook('a'), url: 'https://other.example', events: ['failed'], updatedBy: 'bob', updatedAt: 'later' }],
    });
  });

  test(`at most ${MAX_WEBHOOKS} webhooks; changing one of them is still fine`, () => {
    const full = Array.from({ length: MAX_WEBHOOKS }, (_, i) => hook(`h${i}`));
    expect(upsertWebhook(full, { name: 'more', url: 'https://h.example', secret: '0123456789abcdef' }, 'ada', 'now')).toMatchObject({
      ok: false,
      field: 'name',
    });
    expect(upsertWebhook(full, { name: 'h3', url: 'https://h.example' }, 'ada', 'now')).toMatchObject({ ok: true });
  });

  test('the view never holds the secret; events absent means all', () => {
    const view = webhookView(hook('a'));
    expect(view).toEqual({
      name: 'a',
      url: 'https://hooks.example/a',
      events: 'all',
      secretSet: true,
      updatedBy: 'ada',
      updatedAt: '2026-11-27T00:00:00.000Z',
    });
    expect(wantsEvent(hook('a'), 'paused')).toBe(true);
    expect(wantsEvent(hook('a', { events: ['failed'] }), 'paused')).toBe(false);
  });
});
