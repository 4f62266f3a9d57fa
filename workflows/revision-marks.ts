import { ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import { REVISION_VERDICTS, toFieldIssues, type FieldIssue, type RevisionMark } from '../domain/index.js';
import { actorName, shapeError } from './action-inputs.js';
import { MarkFailureTypes, type AppRecord, type MarkRevisionInput, type MarkRevisionResult } from './definitions.js';

const MarkRevisionInputSchema = z.strictObject(
  {
    revision: z
      .number({ error: 'is required: the revision number' })
      .int('must be a whole revision number')
      .positive('must be a revision number ≥ 1'),
    verdict: z.enum(REVISION_VERDICTS, { error: 'must be "bad" or "good"' }),
    reason: z
      .string({ error: (issue) => (issue.input === undefined ? 'is required: why the revision is marked' : 'must be a string') })
      .trim()
      .min(1, 'must not be empty: why the revision is marked')
      .max(1000, 'must be at most 1000 characters'),
    by: actorName,
  },
  { error: shapeError('{"revision": 3, "verdict": "bad", "reason": "...", "by": "alice"}') },
);

/**
 * The input of a `mark-revision` Update, checked against the App's kept revisions: an ApplicationFailure naming the
 * field (`invalidInput`, the issues as details) or the revision that is not kept (`unknownRevision`). Run by the
 * validator, so nothing bad is accepted, and again by the handler, which may throw nothing but a Temporal failure.
 */
export function parseMarkRevision(record: AppRecord | undefined, raw: unknown): MarkRevisionInput {
  let issues: FieldIssue[];
  try {
    const parsed = MarkRevisionInputSchema.safeParse(raw);
    if (parsed.success) {
      const input = parsed.data;
      const kept = record?.revisions.map((r) => r.number) ?? [];
      if (!kept.includes(input.revision)) {
        const app = record ? `${record.spec.tenant}/${record.spec.name}` : 'the App';
        throw ApplicationFailure.create({
          message: `revision ${input.revision} of ${app} does not exist; kept revisions: ${kept.join(', ') || 'none'}`,
          type: MarkFailureTypes.unknownRevision,
          nonRetryable: true,
          details: [{ revision: input.revision, kept }],
        });
      }
      return input;
    }
    issues = toFieldIssues(parsed.error);
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    issues = [{ field: '(root)', message: err instanceof Error ? err.message : String(err) }];
  }
  throw ApplicationFailure.create({
    message: `invalid input: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
    type: MarkFailureTypes.invalidInput,
    nonRetryable: true,
    details: [issues],
  });
}

/** The record with `input`'s mark set (now, by its author), and what it recorded. */
export function withMark(record: AppRecord, input: MarkRevisionInput): { record: AppRecord; result: MarkRevisionResult } {
  const key = String(input.revision);
  const previous = record.marks?.[key];
  const mark: RevisionMark = { verdict: input.verdict, reason: input.reason, by: input.by, at: new Date().toISOString() };
  return {
    record: { ...record, marks: { ...(record.marks ?? {}), [key]: mark } },
    result: { revision: input.revision, mark, ...(previous ? { previous } : {}) },
  };
}
