import { mergeCellLocations } from '../../../domain/cell-locations.js';

describe('mergeCellLocations: cells found centrally and by agents', () => {
  test('every cell placed: the central answer and the agents’ together', () => {
    expect(
      mergeCellLocations(
        'acme',
        ['rz00a', 'rz01a'],
        { rz00a: 'kc1' },
        [{ cluster: 'kc2', mine: ['rz01a', 'rz01b'], foreign: [] }],
        ['kc2'],
      ),
    ).toEqual({ found: { rz00a: 'kc1', rz01a: 'kc2' } });
  });

  test('a cell an agent holds for another tenant is refused as forbidden, naming it', () => {
    expect(mergeCellLocations('acme', ['rz09a'], {}, [{ cluster: 'kc2', mine: [], foreign: ['rz09a'] }], ['kc2'])).toEqual({
      refused: { reason: 'forbidden', message: 'cells rz09a belong to another tenant than acme' },
    });
  });

  test('a cell nobody knows is refused as unknown, naming the agent-served clusters asked', () => {
    expect(
      mergeCellLocations('acme', ['rz00a', 'nope'], { rz00a: 'kc1' }, [{ cluster: 'kc2', mine: [], foreign: [] }], ['kc7', 'kc2']),
    ).toEqual({
      refused: {
        reason: 'unknownCell',
        message: "cells nope are not known in any cluster (the central worker's, or agent-served kc2, kc7)",
      },
    });
  });

  test('cells an agent reports beyond those asked are not added', () => {
    expect(mergeCellLocations('acme', ['rz01a'], {}, [{ cluster: 'kc2', mine: ['rz01a', 'rz01b'], foreign: [] }], ['kc2'])).toEqual({
      found: { rz01a: 'kc2' },
    });
  });
});
