import { revisionHistory } from '../../../api/revision-client.js';
import { renderRevisionHistory } from '../../../cli/revisions.js';
import { AppSpecSchema, type Revision } from '../../../domain/index.js';
import type { AppRecord } from '../../../workflows/definitions.js';
import { appSpec } from '../../support/app-spec.js';

const spec = AppSpecSchema.parse(appSpec('shop', 'registry.local/shop:3', { cells: ['rz00a', 'rz00b', 'rz01a'] }));
const revision = (number: number, by: string): Revision => ({
  number,
  template: {
    containers: [
      { name: 'web', image: `registry.local/shop:${number}` },
      { name: 'proxy', image: 'envoy:1.30' },
    ],
  },
  replicasPerCell: 3,
  overrides: {},
  createdAt: `2026-11-2${number}T10:00:00.000Z`,
  createdBy: by,
});
const record: AppRecord = {
  spec,
  revisions: [revision(2, 'rita'), revision(3, 'rita'), revision(4, 'ada')],
  latest: 4,
  released: { rz00a: 3, rz00b: 3, rz01a: 1 },
  marks: { '4': { verdict: 'bad', reason: 'crash loop', by: 'rita', at: '2026-11-27T11:00:00.000Z' } },
};

test('the history: newest first, images per container, the cells running each revision, marks, cells on older revisions', () => {
  const history = revisionHistory(record);
  expect(history.revisions.map((r) => [r.revision, r.latest, r.createdBy, r.cells])).toEqual([
    [4, true, 'ada', []],
    [3, false, 'rita', ['rz00a', 'rz00b']],
    [2, false, 'rita', []],
  ]);
  expect(history.revisions[0]!.images).toEqual({ web: 'registry.local/shop:4', proxy: 'envoy:1.30' });
  expect(history.olderRevisions).toEqual({ rz01a: 1 });

  expect(renderRevisionHistory(history)).toEqual([
    'acme/shop: latest revision 4, 3 kept (newest first)',
    'REV  CREATED                   BY    IMAGES                                      CELLS        MARK',
    '4*   2026-11-24T10:00:00.000Z  ada   web=registry.local/shop:4 proxy=envoy:1.30  -            BAD',
    '    marked bad by rita at 2026-11-27T11:00:00.000Z: crash loop',
    '3    2026-11-23T10:00:00.000Z  rita  web=registry.local/shop:3 proxy=envoy:1.30  rz00a,rz00b',
    '2    2026-11-22T10:00:00.000Z  rita  web=registry.local/shop:2 proxy=envoy:1.30  -',
    'cells on revisions no longer kept: rz01a@1',
    '(* latest: the target of a release without --revision; a BAD latest is refused as one)',
  ]);
});
