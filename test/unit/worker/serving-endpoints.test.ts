import type { V1EndpointSlice } from '@kubernetes/client-node';
import { ServingEndpoints } from '../../../worker/traffic/service/serving-endpoints.js';

const slice = (name: string, endpoints: [string, boolean | undefined][], o: { namespace?: string; service?: string | null } = {}) =>
  ({
    metadata: {
      name,
      namespace: o.namespace ?? 'shop',
      labels: o.service === null ? {} : { 'kubernetes.io/service-name': o.service ?? 'web' },
    },
    addressType: 'IPv4',
    endpoints: endpoints.map(([ip, ready]) => ({ addresses: [ip], conditions: ready === undefined ? {} : { ready } })),
  }) as V1EndpointSlice;

test('a slice event reports exactly the IPs whose serving state changed', () => {
  const e = new ServingEndpoints();
  expect([
    ...e.apply(
      slice('web-1', [
        ['10.0.0.1', true],
        ['10.0.0.2', false],
      ]),
    ),
  ]).toEqual(['10.0.0.1']);
  expect(e.serves('shop', '10.0.0.1')).toBe(true);
  expect(e.serves('shop', '10.0.0.2')).toBe(false);
  // the same slice again changes nothing; a pod turning ready changes only its IP
  expect([
    ...e.apply(
      slice('web-1', [
        ['10.0.0.1', true],
        ['10.0.0.2', false],
      ]),
    ),
  ]).toEqual([]);
  expect([
    ...e.apply(
      slice('web-1', [
        ['10.0.0.1', true],
        ['10.0.0.2', true],
      ]),
    ),
  ]).toEqual(['10.0.0.2']);
  // a pod draining (not ready) or gone from the slice stops being served
  expect([...e.apply(slice('web-1', [['10.0.0.2', true]]))]).toEqual(['10.0.0.1']);
  expect(e.serves('shop', '10.0.0.1')).toBe(false);
});

test('an IP listed ready by two Services stays served until neither lists it', () => {
  const e = new ServingEndpoints();
  e.apply(slice('web-1', [['10.0.0.1', true]]));
  expect([...e.apply(slice('admin-1', [['10.0.0.1', true]], { service: 'admin' }))]).toEqual([]);
  expect([...e.remove(slice('web-1', []))]).toEqual([]);
  expect(e.serves('shop', '10.0.0.1')).toBe(true);
  expect([...e.remove(slice('admin-1', []))]).toEqual(['10.0.0.1']);
  expect(e.serves('shop', '10.0.0.1')).toBe(false);
  expect([...e.remove(slice('never-seen', []))]).toEqual([]);
});

test('namespaces are apart; slices of no Service and endpoints of unknown readiness route nothing', () => {
  const e = new ServingEndpoints();
  e.apply(slice('web-1', [['10.0.0.1', true]], { namespace: 'pay' }));
  expect(e.serves('pay', '10.0.0.1')).toBe(true);
  expect(e.serves('shop', '10.0.0.1')).toBe(false);
  expect([...e.apply(slice('orphan', [['10.0.0.3', true]], { service: null }))]).toEqual([]);
  expect([...e.apply(slice('web-2', [['10.0.0.4', undefined]]))]).toEqual([]);
  expect(e.serves('shop', '10.0.0.3')).toBe(false);
  expect(e.serves('shop', '10.0.0.4')).toBe(false);
});
