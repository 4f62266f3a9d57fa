/** The largest payload list (a workflow or activity input or result, a signal's input) in a history's events, in bytes. */
export function largestPayload(events: readonly unknown[]): number {
  let largest = 0;
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
    const payloads = (node as { payloads?: { data?: Uint8Array | null }[] }).payloads;
    if (Array.isArray(payloads))
      largest = Math.max(
        largest,
        payloads.reduce((n, p) => n + (p.data?.length ?? 0), 0),
      );
    for (const value of Object.values(node)) visit(value);
  };
  events.forEach(visit);
  return largest;
}
