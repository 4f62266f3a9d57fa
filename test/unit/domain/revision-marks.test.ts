import { badMark, checkTargetMark, DomainError, keptMarks, plainTargetIssue, type RevisionMarks } from '../../../domain/index.js';

const marks: RevisionMarks = {
  '3': { verdict: 'bad', reason: 'crash loop', by: 'alice', at: '2026-11-27T10:00:00.000Z' },
  '2': { verdict: 'bad', reason: 'slow', by: 'bob', at: '2026-11-27T09:00:00.000Z' },
  '1': { verdict: 'good', reason: 'verified', by: 'carol', at: '2026-11-27T08:00:00.000Z' },
};
const target = { app: 'acme/shop', marks, kept: [1, 2, 3] };

test('only a bad mark is a bad mark', () => {
  expect(badMark(marks, 3)?.reason).toBe('crash loop');
  expect(badMark(marks, 1)).toBeUndefined();
  expect(badMark(undefined, 3)).toBeUndefined();
});

test.each([
  ['a plain release to a bad latest is refused, naming it and the newest revision not bad', 3, false, 'refused'],
  ['an explicit bad revision goes, its mark handed back to be recorded', 3, true, 'bad'],
  ['a revision marked good goes either way', 1, false, 'none'],
])('%s', (_name, revision, explicit, outcome) => {
  const run = () => checkTargetMark({ ...target, target: revision, explicit });
  if (outcome === 'refused') {
    expect(run).toThrow(DomainError);
    try {
      run();
    } catch (err) {
      expect((err as DomainError).issues).toEqual([
        {
          field: 'revision',
          message:
            'revision 3, the latest of acme/shop, is marked bad (by alice at 2026-11-27T10:00:00.000Z: crash loop); a release ' +
            'without a revision never ships a bad one: give an explicit revision (the newest not marked bad is 1), or mark 3 good',
        },
      ]);
    }
  } else if (outcome === 'bad') expect(run()).toEqual(marks['3']);
  else expect(run()).toBeUndefined();
});

test('the issue names the field it is given, and no fallback when every kept revision is bad', () => {
  const issue = plainTargetIssue({ ...target, kept: [2, 3], target: 3, field: 'entries[1].revision' });
  expect(issue?.field).toBe('entries[1].revision');
  expect(issue?.message).not.toMatch(/newest not marked bad/);
  expect(plainTargetIssue({ ...target, target: 1 })).toBeUndefined();
});

test('marks of revisions no longer kept are dropped', () => {
  expect(keptMarks(marks, [2, 3, 4])).toEqual({ '2': marks['2'], '3': marks['3'] });
  expect(keptMarks(undefined, [1])).toBeUndefined();
});
