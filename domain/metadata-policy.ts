import { z } from 'zod';

/**
 * Which annotation and label keys of an App's workloads and pods are whose (docs/multi-cluster.md, "Annotation
 * and label policy"). `spec` keys are Barista's: it sets them from the App at every release and removes those
 * the App no longer sets, whoever wrote them. `status` keys are never written and never removed by Barista,
 * whoever set them (a probe's verdict, an operator's note). Keys matching neither are left alone, except those
 * the App itself sets. Patterns are keys with `*` wildcards (`example.com/*`, `*.internal/owner`).
 */
const keyPattern = z
  .string()
  .min(1, 'a key pattern must not be empty')
  .max(317)
  .regex(/^[A-Za-z0-9*._/-]+$/, 'a key pattern is an annotation or label key with "*" wildcards (letters, digits, "-", "_", ".", "/")');

export const MetadataPolicySchema = z
  .strictObject({
    spec: z.array(keyPattern).default([]),
    status: z.array(keyPattern).default([]),
  })
  .superRefine((policy, ctx) => {
    policy.status.forEach((status, i) => {
      const spec = policy.spec.find((s) => globsOverlap(s, status));
      if (spec !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['status', i],
          message: `status pattern "${status}" overlaps spec pattern "${spec}": a key must be either Barista's or not`,
        });
    });
  });

export type MetadataPolicy = z.output<typeof MetadataPolicySchema>;

/**
 * Keys Barista and Kubernetes keep for themselves (Barista's own labels and marks, the StatefulSet controller's):
 * an App cannot set them, and no policy removes them.
 */
export const RESERVED_KEY_PATTERNS = [
  'barista.dev/*',
  '*.barista.dev/*',
  'app.kubernetes.io/managed-by',
  'controller-revision-hash',
  'statefulset.kubernetes.io/*',
  'apps.kubernetes.io/*',
] as const;

export function isReservedKey(key: string): boolean {
  return matchesAny(key, RESERVED_KEY_PATTERNS);
}

/** True when `key` matches the glob `pattern` (`*`: any run of characters, `/` included). */
export function matchesPattern(key: string, pattern: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`);
  return regex.test(key);
}

export function matchesAny(key: string, patterns: readonly string[] | undefined): boolean {
  return (patterns ?? []).some((p) => matchesPattern(key, p));
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** True when some key matches both globs (each `*` any run of characters). */
export function globsOverlap(a: string, b: string): boolean {
  const memo = new Map<number, boolean>();
  const from = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result = false;
    if (i === a.length && j === b.length) result = true;
    else if (i < a.length && a[i] === '*' && (from(i + 1, j) || (j < b.length && from(i, j + 1)))) result = true;
    else if (j < b.length && b[j] === '*' && (from(i, j + 1) || (i < a.length && from(i + 1, j)))) result = true;
    else if (i < a.length && j < b.length && a[i] !== '*' && b[j] !== '*' && a[i] === b[j]) result = from(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return from(0, 0);
}

/**
 * What to write to bring an object's annotations (or labels) in line with the App: keys whose value differs from
 * `desired`, and `null` for keys the policy says are Barista's that `desired` no longer has. Keys matching a
 * status pattern are never in it, nor keys matching neither that the App does not set. Empty: nothing to write.
 */
export function metadataChanges(
  current: Record<string, string> | undefined,
  desired: Record<string, string>,
  policy: Partial<MetadataPolicy> | undefined,
): Record<string, string | null> {
  const changes: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(desired)) if (current?.[key] !== value) changes[key] = value;
  for (const key of Object.keys(current ?? {}))
    if (!(key in desired) && !isReservedKey(key) && matchesAny(key, policy?.spec) && !matchesAny(key, policy?.status)) changes[key] = null;
  return changes;
}
