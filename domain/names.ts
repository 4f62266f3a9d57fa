import { z } from 'zod';

/** A DNS-1123 label: what Kubernetes accepts in names and label values we derive from it. */
export const dnsLabel = z
  .string()
  .min(1, 'must not be empty')
  .max(40, 'must be at most 40 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-", starting and ending with a letter or digit');

/**
 * A container image reference: [registry[:port]/]path[:tag][@sha256:digest]. The grammar follows the
 * distribution reference format closely enough to refuse things that are not images (spaces, uppercase
 * paths, empty tags).
 */
const IMAGE_REF =
  /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export const imageRef = z
  .string()
  .max(255, 'must be at most 255 characters')
  .regex(IMAGE_REF, 'must be an image reference such as registry.example/team/app:1.2.3 or app@sha256:<64 hex>');
