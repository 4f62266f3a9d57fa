import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** utime + stime of a process (and its waited-for children), in seconds; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // fields after the command: state(3) ppid(4) pgrp(5) ... utime(14) stime(15) cutime(16) cstime(17)
  return (Number(fields[14]) + Number(fields[15]) + Number(fields[16]) + Number(fields[17])) / TICKS_PER_SECOND;
}

/** CPU seconds of every live process in process group `pgid` (a sandbox process runs under a watchdog in its own group). */
export function groupCpuSeconds(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[5]) === pgid) total += cpuSeconds(Number(entry));
  }
  return total;
}

/**
 * CPU seconds of every live process whose command (/proc's 15-character `comm`) is one of `commands`, summed per
 * command: where a sandbox's time goes (kube-apiserver, kube-controller, etcd, ...).
 */
export function cpuSecondsByCommand(commands: readonly string[]): Map<string, number> {
  const totals = new Map<string, number>(commands.map((c) => [c, 0]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let comm: string;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    } catch {
      continue;
    }
    if (totals.has(comm)) totals.set(comm, totals.get(comm)! + cpuSeconds(Number(entry)));
  }
  return totals;
}

/** Peak resident memory of a process so far (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

/** Resident memory now (VmRSS), in MiB. */
export function rssMiB(pid: number): number {
  return statusMiB(pid, 'VmRSS');
}

/** A memory field of /proc/<pid>/status in MiB; 0 once the process is gone. */
function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** /proc/<pid>/stat split so that index n is field n of proc(5) (the command, which may hold spaces, is field 2). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ['', String(pid), 'comm', ...rest];
  } catch {
    return undefined;
  }
}
