// Measuring other processes from a benchmark: CPU and memory from /proc, and
// one figure from a gateway's Prometheus text.
import fs from 'node:fs';

const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

export interface ProcSample {
  /** User + system CPU time so far, ms. */
  cpuMs: number;
  rssBytes: number;
}

export function procSample(pid: number): ProcSample {
  // Fields after the ") " that ends the command name: utime, stime are 14 and 15, rss is 24.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return {
    cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
    rssBytes: Number(fields[21]) * PAGE_BYTES,
  };
}

/** Sum of every series of one metric (all label sets) in the gateway's /metrics. */
export async function metricValue(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
