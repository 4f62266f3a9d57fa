import { DomainError } from './errors.js';
import type { FieldIssue } from './validation.js';

/** What an operator said about a revision: `bad` keeps plain releases off it; `good` lifts that (or vouches for it). */
export type RevisionVerdict = 'bad' | 'good';
export const REVISION_VERDICTS = ['bad', 'good'] as const satisfies readonly RevisionVerdict[];

/** The mark a revision carries now: the last verdict given, why, by whom and when (the audit record keeps them all). */
export interface RevisionMark {
  verdict: RevisionVerdict;
  reason: string;
  by: string;
  at: string;
}

/** Marks of an App's kept revisions, by revision number (a JSON key, hence a string). */
export type RevisionMarks = Record<string, RevisionMark>;

/** The mark of `revision` if it is `bad`. */
export function badMark(marks: RevisionMarks | undefined, revision: number): RevisionMark | undefined {
  const mark = marks?.[String(revision)];
  return mark?.verdict === 'bad' ? mark : undefined;
}

/** Only the marks of revisions still kept (an App keeps its last few revisions; a dropped one's mark goes with it). */
export function keptMarks(marks: RevisionMarks | undefined, kept: readonly number[]): RevisionMarks | undefined {
  if (!marks) return undefined;
  return Object.fromEntries(Object.entries(marks).filter(([n]) => kept.includes(Number(n))));
}

/**
 * The rule for a release's target: a plain release (no revision asked for) never ships a revision marked bad, so
 * one whose default target (the App's latest) is bad is refused, naming it and the field to give. A revision asked
 * for explicitly is the operator's choice: allowed, and its bad mark handed back so that the release records it.
 */
export function checkTargetMark(o: TargetOfRelease & { explicit: boolean }): RevisionMark | undefined {
  const mark = badMark(o.marks, o.target);
  if (!mark || o.explicit) return mark;
  throw DomainError.invalid([plainTargetIssue(o)!]);
}

export interface TargetOfRelease {
  /** `tenant/app`, for the message. */
  app: string;
  marks: RevisionMarks | undefined;
  /** The revision a plain release would take: the App's latest. */
  target: number;
  /** Revisions kept, to name the newest one not marked bad. */
  kept: readonly number[];
  /** The request field that names a revision (`revision`, `entries[2].revision`); default `revision`. */
  field?: string;
}

/** Why a plain release (no revision given) to `target` is refused, if it is: the target is marked bad. */
export function plainTargetIssue(o: TargetOfRelease): FieldIssue | undefined {
  const mark = badMark(o.marks, o.target);
  if (!mark) return undefined;
  const fallback = [...o.kept].sort((a, b) => b - a).find((n) => !badMark(o.marks, n));
  return {
    field: o.field ?? 'revision',
    message:
      `revision ${o.target}, the latest of ${o.app}, is marked bad (by ${mark.by} at ${mark.at}: ${mark.reason}); ` +
      `a release without a revision never ships a bad one: give an explicit revision` +
      `${fallback !== undefined ? ` (the newest not marked bad is ${fallback})` : ''}, or mark ${o.target} good`,
  };
}

/** What the audit record and a release's trail say about a mark. */
export function describeMark(revision: number, mark: RevisionMark): string {
  return `revision ${revision} marked ${mark.verdict} by ${mark.by} at ${mark.at}: ${mark.reason}`;
}
