import type { z } from 'zod';

/** One problem with an input: where (a dotted path such as `clusters[0].cells[1].name`) and what is wrong. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Turns zod issues into field paths and messages a person can act on. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ field: formatPath(issue.path) || '(root)', message: issue.message }));
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    const key = String(part);
    return acc ? `${acc}.${key}` : key;
  }, '');
}

export function describeIssues(issues: FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}
