import { z } from 'zod';

/**
 * Names and keys as the Kubernetes API server validates them (apimachinery `validation.go`), so that what
 * Barista accepts at registration is never refused later by a cluster in the middle of a release.
 */

/** The name part of a qualified name, and a label value: alphanumeric at both ends, `-_.` inside. */
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const NAME_PART_MAX = 63;
/** A DNS-1123 subdomain: lowercase labels joined by dots. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_SUBDOMAIN_MAX = 253;
/** A DNS-1123 label, as namespace names are. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_MAX = 63;
/** Kubernetes' C_IDENTIFIER, what an environment variable name must be here. */
const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Total size of an object's annotations (keys and values) the API server accepts. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

/**
 * Why `key` is not a qualified name (annotation or label key: `[prefix/]name`, prefix a DNS subdomain of
 * at most 253 characters, name at most 63 characters, alphanumeric at both ends, `-_.` inside), or
 * undefined when it is one.
 */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'must be a name with at most one "/" ([prefix/]name)';
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  if (prefix !== undefined) {
    if (!prefix) return 'the prefix before "/" must not be empty';
    if (prefix.length > DNS_SUBDOMAIN_MAX) return `the prefix must be at most ${DNS_SUBDOMAIN_MAX} characters`;
    if (!DNS_SUBDOMAIN.test(prefix)) return 'the prefix must be a DNS subdomain (lowercase letters, digits, "-" and ".")';
  }
  if (!name) return 'the name must not be empty';
  if (name.length > NAME_PART_MAX) return `the name must be at most ${NAME_PART_MAX} characters`;
  if (!QUALIFIED_NAME_PART.test(name))
    return 'the name must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  return undefined;
}

/** Why `value` is not a label value (empty, or at most 63 characters like a qualified name's name), or undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > NAME_PART_MAX) return `must be at most ${NAME_PART_MAX} characters`;
  if (!QUALIFIED_NAME_PART.test(value)) return 'must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  return undefined;
}

/** Why `name` cannot be the namespace of an App's workloads (a DNS label, not one of Kubernetes' own), or undefined. */
export function namespaceProblem(name: string): string | undefined {
  if (name.length > DNS_LABEL_MAX) return `must be at most ${DNS_LABEL_MAX} characters (is ${name.length})`;
  if (!DNS_LABEL.test(name)) return 'must be lowercase letters, digits and "-", starting and ending with a letter or digit';
  if (name.startsWith('kube-')) return 'kube-* namespaces belong to Kubernetes itself';
  return undefined;
}

export function isEnvName(name: string): boolean {
  return C_IDENTIFIER.test(name);
}

const utf8 = new TextEncoder();

/** Annotations whose keys are qualified names and whose total size the API server accepts. */
export const annotationsSchema = z.record(z.string(), z.string()).superRefine((annotations, ctx) => {
  let bytes = 0;
  for (const [key, value] of Object.entries(annotations)) {
    const problem = qualifiedNameProblem(key);
    if (problem) ctx.addIssue({ code: 'custom', path: [key], message: `annotation key "${key}": ${problem}` });
    bytes += utf8.encode(key).length + utf8.encode(value).length;
  }
  if (bytes > ANNOTATIONS_MAX_BYTES)
    ctx.addIssue({ code: 'custom', path: [], message: `annotations are ${bytes} bytes in all; at most ${ANNOTATIONS_MAX_BYTES}` });
});

/** Labels whose keys are qualified names and whose values are label values. */
export const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const [key, value] of Object.entries(labels)) {
    const problem = qualifiedNameProblem(key);
    if (problem) ctx.addIssue({ code: 'custom', path: [key], message: `label key "${key}": ${problem}` });
    const valueProblem = labelValueProblem(value);
    if (valueProblem) ctx.addIssue({ code: 'custom', path: [key], message: `label value "${value}": ${valueProblem}` });
  }
});

/** Environment variables whose names are C identifiers (`[A-Za-z_][A-Za-z0-9_]*`). */
export const envSchema = z.record(z.string(), z.string()).superRefine((env, ctx) => {
  for (const name of Object.keys(env))
    if (!isEnvName(name))
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `"${name}" must be an environment variable name: letters, digits and "_", not starting with a digit`,
      });
});

/** A label value Kubernetes accepts. */
export const labelValue = z.string().superRefine((value, ctx) => {
  const problem = labelValueProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
