import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { HeartbeatPacer } from '../../../activities/heartbeat-pacer.js';

/** When a detached pod step's heartbeats go to Temporal: fake timers, a send that records what and when. */
let sent: { at: number; step: unknown }[];
let pacer: HeartbeatPacer | undefined;
let release: (() => void) | undefined;

beforeEach(() => {
  jest.useFakeTimers({ now: 0 });
  sent = [];
  release = undefined;
});
afterEach(() => {
  pacer?.stop();
  jest.useRealTimers();
});

function start(o: { slowSend?: boolean } = {}): HeartbeatPacer {
  pacer = new HeartbeatPacer(
    async (details) => {
      sent.push({ at: Date.now(), step: (details as { step: string }).step });
      if (o.slowSend) await new Promise<void>((r) => (release = r));
    },
    { everyMs: 5_000, stepMinMs: 1_000 },
  );
  return pacer;
}

const steps = () => sent.map((s) => `${s.at}:${String(s.step)}`);

test('the first details go out at once; steps changing within a second are told once, as they are by then', async () => {
  const p = start();
  p.update({ step: 'locate' });
  await jest.advanceTimersByTimeAsync(150);
  p.update({ step: 'workload' });
  await jest.advanceTimersByTimeAsync(160);
  p.update({ step: 'drain' });
  await jest.advanceTimersByTimeAsync(250);
  p.update({ step: 'upgrade' });
  await jest.advanceTimersByTimeAsync(1_000);
  expect(steps()).toEqual(['0:locate', '1000:upgrade']);
});

test('a step that changes after a quiet second goes out at once', async () => {
  const p = start();
  p.update({ step: 'locate' });
  await jest.advanceTimersByTimeAsync(2_500);
  p.update({ step: 'ready' });
  await jest.advanceTimersByTimeAsync(0);
  expect(steps()).toEqual(['0:locate', '2500:ready']);
});

test('the latest details are repeated every interval, changed or not, and nothing is sent once stopped', async () => {
  const p = start();
  p.update({ step: 'ready' });
  await jest.advanceTimersByTimeAsync(12_000);
  expect(steps()).toEqual(['0:ready', '5000:ready', '10000:ready']);
  p.update({ step: 'undrain' });
  await jest.advanceTimersByTimeAsync(0);
  expect(steps()).toEqual(['0:ready', '5000:ready', '10000:ready', '12000:undrain']);
  p.stop();
  p.update({ step: 'mount' });
  await jest.advanceTimersByTimeAsync(20_000);
  expect(sent).toHaveLength(4);
});

test('a step told while a send is still in flight is not dropped: it follows the send, never two at once', async () => {
  const p = start({ slowSend: true });
  p.update({ step: 'locate' });
  await jest.advanceTimersByTimeAsync(1_500);
  p.update({ step: 'drain' }); // due now, but the first send has not answered
  await jest.advanceTimersByTimeAsync(0);
  expect(steps()).toEqual(['0:locate']);
  release!();
  await jest.advanceTimersByTimeAsync(0);
  expect(steps()).toEqual(['0:locate', '1500:drain']);
});
