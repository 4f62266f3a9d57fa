import type { CellOverride, Revision } from './app.js';

/** One difference between two revisions of an App. */
export interface RevisionChange {
  /** Where, as a path into the revision: `template.containers[web].image`, `overrides.rz00a.env.LOG`, `replicasPerCell`. */
  field: string;
  change: 'added' | 'removed' | 'changed';
  /** The value in the older revision (absent when added). */
  from?: unknown;
  /** The value in the newer revision (absent when removed). */
  to?: unknown;
  /** The change as a person reads it: `container web: image shop:1 → shop:2`. */
  text: string;
}

export interface RevisionDiff {
  from: number;
  to: number;
  /** Empty when both revisions describe the same desired state. */
  changes: RevisionChange[];
}

/** The parts of a revision its content is made of (its number, author and time are not compared). */
type Content = Pick<Revision, 'template' | 'replicasPerCell' | 'overrides' | 'clusterOverrides' | 'metadataPolicy'>;

/**
 * What changes from revision `a` to revision `b`, field by field, in the order a reviewer reads a revision:
 * the template (containers by name: image, env, any other field; pod annotations and labels), replicas per cell,
 * each cell's override, each cluster's override, the metadata policy. Pure: the same two revisions always give
 * the same list. `a` may be the newer one (a rollback's diff reads backwards).
 */
export function diffRevisions(a: Revision, b: Revision): RevisionDiff {
  return { from: a.number, to: b.number, changes: diffContent(a, b) };
}

function diffContent(a: Content, b: Content): RevisionChange[] {
  return [
    ...diffContainers(a.template.containers, b.template.containers),
    ...diffMap('template.annotations', 'pod annotation', a.template.annotations, b.template.annotations),
    ...diffMap('template.labels', 'pod label', a.template.labels, b.template.labels),
    ...diffValue('replicasPerCell', 'replicas per cell', a.replicasPerCell, b.replicasPerCell),
    ...diffOverrides('overrides', 'cell', a.overrides, b.overrides),
    ...diffOverrides('clusterOverrides', 'cluster', a.clusterOverrides, b.clusterOverrides),
    ...diffPolicy(a.metadataPolicy, b.metadataPolicy),
  ];
}

type Container = Revision['template']['containers'][number];

function diffContainers(a: Container[], b: Container[]): RevisionChange[] {
  const changes: RevisionChange[] = [];
  const byName = (list: Container[]) => new Map(list.map((c) => [c.name, c]));
  const [older, newer] = [byName(a), byName(b)];
  for (const c of a)
    if (!newer.has(c.name))
      changes.push({
        field: `template.containers[${c.name}]`,
        change: 'removed',
        from: c,
        text: `container ${c.name} removed (was image ${c.image})`,
      });
  for (const c of b) {
    const field = `template.containers[${c.name}]`;
    const before = older.get(c.name);
    if (!before) {
      const env = Object.keys(c.env ?? {}).length ? `, env ${entries(c.env)}` : '';
      changes.push({ field, change: 'added', to: c, text: `container ${c.name} added (image ${c.image}${env})` });
      continue;
    }
    changes.push(...diffValue(`${field}.image`, `container ${c.name}: image`, before.image, c.image));
    changes.push(...diffMap(`${field}.env`, `container ${c.name}: env`, before.env, c.env));
    // any other field a container gains (resources, ports, ...) is compared as a whole value
    const others = new Set([...Object.keys(before), ...Object.keys(c)].filter((k) => !['name', 'image', 'env'].includes(k)));
    for (const key of [...others].sort())
      changes.push(
        ...diffValue(
          `${field}.${key}`,
          `container ${c.name}: ${key}`,
          (before as Record<string, unknown>)[key],
          (c as Record<string, unknown>)[key],
        ),
      );
  }
  const common = (list: Container[], other: Map<string, Container>) => list.map((c) => c.name).filter((n) => other.has(n));
  const [orderA, orderB] = [common(a, newer), common(b, older)];
  if (orderA.join() !== orderB.join())
    changes.push({
      field: 'template.containers',
      change: 'changed',
      from: orderA,
      to: orderB,
      text: `containers reordered: ${orderA.join(', ')} → ${orderB.join(', ')}`,
    });
  return changes;
}

function diffOverrides(
  field: 'overrides' | 'clusterOverrides',
  noun: 'cell' | 'cluster',
  a: Record<string, CellOverride> | undefined,
  b: Record<string, CellOverride> | undefined,
): RevisionChange[] {
  const changes: RevisionChange[] = [];
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
  for (const key of keys) {
    const [before, after] = [a?.[key], b?.[key]];
    const at = `${field}.${key}`;
    if (!before || isEmpty(before)) {
      if (after && !isEmpty(after))
        changes.push({ field: at, change: 'added', to: after, text: `${noun} ${key}: override added (${describeOverride(after)})` });
      continue;
    }
    if (!after || isEmpty(after)) {
      changes.push({
        field: at,
        change: 'removed',
        from: before,
        text: `${noun} ${key}: override removed (was ${describeOverride(before)})`,
      });
      continue;
    }
    changes.push(...diffValue(`${at}.replicas`, `${noun} ${key}: replicas`, before.replicas, after.replicas));
    changes.push(...diffMap(`${at}.env`, `${noun} ${key}: env`, before.env, after.env));
    changes.push(...diffMap(`${at}.annotations`, `${noun} ${key}: annotation`, before.annotations, after.annotations));
  }
  return changes;
}

function diffPolicy(a: Revision['metadataPolicy'], b: Revision['metadataPolicy']): RevisionChange[] {
  return (['spec', 'status'] as const).flatMap((kind) =>
    diffValue(`metadataPolicy.${kind}`, `metadata policy ${kind} keys`, nonEmptyList(a?.[kind]), nonEmptyList(b?.[kind])),
  );
}

/** Key by key: added, removed, changed values of a string map (env, annotations, labels). */
function diffMap(
  field: string,
  label: string,
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): RevisionChange[] {
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
  return keys.flatMap((key): RevisionChange[] => {
    const [before, after] = [a?.[key], b?.[key]];
    const at = `${field}.${key}`;
    if (before === after) return [];
    if (before === undefined) return [{ field: at, change: 'added', to: after, text: `${label} ${key}=${after} added` }];
    if (after === undefined) return [{ field: at, change: 'removed', from: before, text: `${label} ${key} removed (was ${before})` }];
    return [{ field: at, change: 'changed', from: before, to: after, text: `${label} ${key}: ${before} → ${after}` }];
  });
}

/** One value compared as a whole (JSON): unset on either side is added or removed. */
function diffValue(field: string, label: string, a: unknown, b: unknown): RevisionChange[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a === undefined) return [{ field, change: 'added', to: b, text: `${label} set to ${show(b)}` }];
  if (b === undefined) return [{ field, change: 'removed', from: a, text: `${label} unset (was ${show(a)})` }];
  return [{ field, change: 'changed', from: a, to: b, text: `${label} ${show(a)} → ${show(b)}` }];
}

function describeOverride(o: CellOverride): string {
  return [
    ...(o.replicas !== undefined ? [`replicas ${o.replicas}`] : []),
    ...(Object.keys(o.env ?? {}).length ? [`env ${entries(o.env)}`] : []),
    ...(Object.keys(o.annotations ?? {}).length ? [`annotations ${entries(o.annotations)}`] : []),
  ].join(', ');
}

function isEmpty(o: CellOverride): boolean {
  return describeOverride(o) === '';
}

function entries(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function nonEmptyList(list: string[] | undefined): string[] | undefined {
  return list?.length ? list : undefined;
}

function show(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}
