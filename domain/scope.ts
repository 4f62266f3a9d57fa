/** Effective scope of a release: the App's placement ∩ the release's mask, in placement order. */
export function effectiveScope(placement: string[], mask: string[] | undefined): string[] {
  if (!mask) return [...placement];
  const allowed = new Set(mask);
  return placement.filter((cell) => allowed.has(cell));
}
