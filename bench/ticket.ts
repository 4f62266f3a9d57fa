/**
 * bench/ticket: one release ticket over many Apps in a dependency DAG of levels (default 20 Apps, 4 levels of 5, each
 * App of level k depending on one or two of level k-1; 8 pods each: 2 in each of the 4 cells), the worker appending
 * the audit record to the sandbox's PostgreSQL. Prints the ticket's wall time against the critical path of its levels
 * (sum over levels of the slowest App release in it) and of its dependencies, the gap between levels, audit rows
 * written per second, and worker and Temporal CPU.
 * Env: BENCH_TICKET_APPS (20), BENCH_TICKET_LEVELS (4), BENCH_PODS_PER_CELL (8 / cells), BENCH_LATENCY_MS (1000),
 * BENCH_TICKET_MAX_PARALLEL (Apps per level).
 */
import pg from 'pg';
import { TicketClient } from '../api/ticket-client.js';
import type { ReleaseRef } from '../api/release-client.js';
import { AuditStore } from '../activities/audit-store.js';
import type { TicketStatus } from '../workflows/ticket-definitions.js';
import { benchApp, say, startBench, type Bench } from './harness.js';

const apps = Number(process.env.BENCH_TICKET_APPS ?? 20);
const levels = Number(process.env.BENCH_TICKET_LEVELS ?? 4);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 1000);
const perLevel = Math.ceil(apps / levels);
const maxParallel = Number(process.env.BENCH_TICKET_MAX_PARALLEL ?? perLevel);

/** App i of level k: `tk<k>-<i>`; it depends on app i of level k-1, and on app i+1 there too when i is even. */
function dag(): { app: string; level: number; dependsOn: string[] }[] {
  const name = (level: number, i: number) => `tk${level}-${i}`;
  const sizes = Array.from({ length: levels }, (_, k) => Math.min(perLevel, apps - k * perLevel)).filter((n) => n > 0);
  return sizes.flatMap((size, level) =>
    Array.from({ length: size }, (_, i) => {
      const below = level ? sizes[level - 1]! : 0;
      const deps = level ? [...new Set([i % below, ...(i % 2 === 0 ? [(i + 1) % below] : [])])].map((j) => name(level - 1, j)) : [];
      return { app: name(level, i), level, dependsOn: deps };
    }),
  );
}

/** Starts one release of each App (one group, every pod at once) and waits for all. */
async function releaseAll(b: Bench, names: string[], pods: number, what: string): Promise<void> {
  const refs: ReleaseRef[] = await Promise.all(
    names.map((app) =>
      b.releases.startRelease({ app, tenant: 'acme', requestedBy: 'bench', strategy: { groups: 1, maxConcurrentPods: pods } }),
    ),
  );
  let done = 0;
  const progress = setInterval(() => say(`  ${what}: ${done}/${names.length} releases ended`), 5_000);
  try {
    const finals = await Promise.all(
      refs.map(async (ref) => {
        const final = await b.releases.result(ref);
        done++;
        return final;
      }),
    );
    const bad = finals.filter((s) => s.state !== 'succeeded');
    if (bad.length)
      throw new Error(`${what}: ${bad.length} releases did not succeed (${bad.map((s) => `${s.app} ${s.state}`).join(', ')})`);
  } finally {
    clearInterval(progress);
  }
}

const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : NaN);
const s = (millis: number) => `${(millis / 1000).toFixed(1)} s`;

async function run(): Promise<void> {
  const entries = dag();
  const names = entries.map((e) => e.app);
  const b = await startBench({ audit: true });
  const auditUrl = b.sandbox.info().auditDatabaseUrl;
  if (!auditUrl) throw new Error('the sandbox runs no PostgreSQL (sandbox.json: auditDatabaseUrl)');
  const audit = await AuditStore.open(auditUrl); // creates the schema if the worker has not yet
  const db = new pg.Pool({ connectionString: auditUrl, max: 1 });
  const rows = async (ticket?: string) =>
    Number(
      (await db.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events${ticket ? ' WHERE ticket = $1' : ''}`, ticket ? [ticket] : []))
        .rows[0]?.n ?? 0,
    );
  try {
    const perCell = Number(process.env.BENCH_PODS_PER_CELL ?? Math.max(1, Math.round(8 / b.cells.length)));
    const pods = perCell * b.cells.length;
    say(`registering ${apps} Apps in ${levels} levels and deploying their ${apps * pods} pods (${b.cells.length} cells × ${perCell})`);
    for (const name of names) await b.releases.upsertApp(benchApp(name, b.cells, perCell, 1), 'bench');
    await releaseAll(b, names, pods, 'first deployments');
    say('registering revision 2 of every App; waiting for the API servers to settle');
    for (const name of names) await b.releases.upsertApp(benchApp(name, b.cells, perCell, 2), 'bench');
    for (const cluster of b.sandbox.clusterNames) b.sandbox.setStartLatency(cluster, latencyMs);
    await b.quiescent();

    const tickets = new TicketClient(b.releases);
    const spec = {
      tenant: 'acme',
      title: `bench: ${apps} Apps in ${levels} levels`,
      reason: 'bench/ticket',
      approval: 'none',
      onFailure: 'halt',
      maxParallel,
      entries: entries.map((e) => ({
        app: e.app,
        ...(e.dependsOn.length ? { dependsOn: e.dependsOn } : {}),
        strategy: { groups: 1, maxConcurrentPods: pods },
      })),
    };
    say(`one ticket over the ${apps} Apps (maxParallel ${maxParallel}, start latency ${latencyMs} ms)`);
    const rows0 = await rows();
    const cpu0 = b.cpu();
    const started = Date.now();
    const { id } = await tickets.create(spec, 'bench');
    const samples: { at: number; rows: number }[] = [{ at: started, rows: rows0 }];
    const sampler = setInterval(() => {
      void rows().then(
        (n) => samples.push({ at: Date.now(), rows: n }),
        () => undefined,
      );
    }, 2_000);
    const progress = setInterval(() => {
      void tickets.status('acme', id).then(
        (t: TicketStatus) => {
          const byLevel = t.levels.map(
            (level) => `${level.filter((a) => t.apps.find((x) => x.app === a)?.state === 'succeeded').length}/${level.length}`,
          );
          const running = t.apps.filter((a) => a.state === 'running').length;
          say(`  ticket ${t.state}: succeeded per level ${byLevel.join(' ')}, ${running} running`);
        },
        () => undefined,
      );
    }, 5_000);
    let done: TicketStatus;
    try {
      done = await tickets.result('acme', id);
    } finally {
      clearInterval(progress);
      clearInterval(sampler);
    }
    const wallMs = Date.now() - started;
    const cpu1 = b.cpu();
    const rowsAtEnd = await rows();
    if (done.state !== 'succeeded')
      throw new Error(`the ticket ended ${done.state}: ${JSON.stringify(done.apps.filter((a) => a.state !== 'succeeded'))}`);

    // the rows its outbox and its releases' still had in flight when it ended
    say('waiting for the audit rows to settle');
    let settled = rowsAtEnd;
    for (;;) {
      await new Promise((r) => setTimeout(r, 2_000));
      const now = await rows();
      if (now === settled) break;
      settled = now;
    }
    let ticketRows = 0;
    const kinds = new Map<string, number>();
    for (let after: number | undefined; ;) {
      const page = await audit.query({ tenant: 'acme', ticket: id, limit: 1000, ...(after !== undefined ? { after } : {}) });
      ticketRows += page.events.length;
      for (const e of page.events) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
      if (page.next === undefined) break;
      after = page.next;
    }

    // each App's own release, from its status
    say('reading each App release status');
    const timing = new Map<string, { start: number; end: number; deps: string[] }>();
    for (const a of done.apps) {
      const r = await b.releases.status(a.release!, { detail: 'summary' });
      timing.set(a.app, { start: ms(r.startedAt), end: ms(r.finishedAt), deps: a.dependsOn });
    }
    const levelSpans = done.levels.map((level) => {
      const t = level.map((a) => timing.get(a)!);
      return {
        slowest: Math.max(...t.map((x) => x.end - x.start)),
        firstStart: Math.min(...t.map((x) => x.start)),
        lastEnd: Math.max(...t.map((x) => x.end)),
      };
    });
    const levelPath = levelSpans.reduce((n, l) => n + l.slowest, 0);
    // the longest chain of releases through the dependencies (an App starts when its own dependencies are done)
    const chain = new Map<string, number>();
    for (const level of done.levels)
      for (const a of level) {
        const t = timing.get(a)!;
        chain.set(a, t.end - t.start + Math.max(0, ...t.deps.map((d) => chain.get(d) ?? 0)));
      }
    const depPath = Math.max(...chain.values());
    const gaps = levelSpans.slice(1).map((l, k) => l.firstStart - levelSpans[k]!.lastEnd);
    // from an App's last dependency finishing to its own release starting
    const dispatch = [...timing.values()]
      .filter((t) => t.deps.length)
      .map((t) => t.start - Math.max(...t.deps.map((d) => timing.get(d)!.end)))
      .sort((x, y) => x - y);
    const firstStart = Math.min(...[...timing.values()].map((t) => t.start));
    const lastEnd = Math.max(...[...timing.values()].map((t) => t.end));
    let peak = 0;
    for (let i = 1; i < samples.length; i++) {
      const dt = (samples[i]!.at - samples[i - 1]!.at) / 1000;
      if (dt > 0) peak = Math.max(peak, (samples[i]!.rows - samples[i - 1]!.rows) / dt);
    }

    console.log('bench/ticket');
    console.log(
      `  ${apps} Apps × ${pods} pods (${b.cells.length} cells × ${perCell}) in ${done.levels.length} levels (${done.levels.map((l) => l.length).join('+')}), maxParallel ${maxParallel}, one group each, no gate, start latency ${latencyMs} ms: ${done.state}`,
    );
    console.log(
      `  wall time of the ticket ${s(wallMs)} (first App release start → last App release end ${s(lastEnd - firstStart)}; before: ${s(firstStart - started)}; after: ${s(started + wallMs - lastEnd)})`,
    );
    console.log(
      `  critical path of its levels ${s(levelPath)} (slowest App release per level: ${levelSpans.map((l) => s(l.slowest)).join(', ')}); ratio ${(wallMs / levelPath).toFixed(2)}`,
    );
    console.log(`  critical path through the dependencies ${s(depPath)}; ratio ${(wallMs / depPath).toFixed(2)}`);
    console.log(
      `  gap between levels (last App of level k ends → first of level k+1 starts): ${gaps.map((g) => s(g)).join(', ')}; an App's last dependency ends → its release starts: p50 ${s(dispatch[Math.floor(dispatch.length / 2)] ?? NaN)}, max ${s(dispatch.at(-1) ?? NaN)}`,
    );
    console.log(
      `  audit rows: ${ticketRows} of the ticket (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}); ${rowsAtEnd - rows0} written during the ticket, ${((rowsAtEnd - rows0) / (wallMs / 1000)).toFixed(1)} rows/s (peak ${peak.toFixed(1)} rows/s over 2 s), ${settled - rowsAtEnd} more after it ended`,
    );
    console.log(
      `  worker CPU ${(cpu1.worker - cpu0.worker).toFixed(1)} s (${((1000 * (cpu1.worker - cpu0.worker)) / (apps * pods)).toFixed(0)} ms/pod), Temporal server CPU ${(cpu1.temporal - cpu0.temporal).toFixed(1)} s; peak worker RSS ${b.peakWorkerRssMiB().toFixed(0)} MiB`,
    );
  } finally {
    await db.end();
    await audit.close();
    await b.stop();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
