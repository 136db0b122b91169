// Shared by the micro-benchmarks: run every task in each of several tinybench rounds, and
// report medians over rounds. Contenders run side by side in every round, so a ratio taken
// per round cancels the slow drift of a shared machine.

import { Bench } from 'tinybench';

export interface RoundOptions {
  rounds: number;
  timeMs: number;
  warmupMs: number;
  /** Work items per call for tasks that do many (a batch), so figures read per item. */
  itemsPerCall?: Record<string, number>;
}

/** Each task's median ops/s (× itemsPerCall) in every round, by task name. */
export async function runRounds(
  tasks: Record<string, () => unknown>, o: RoundOptions,
): Promise<Record<string, number[]>> {
  const perRound: Record<string, number[]> = {};
  const n = Object.keys(tasks).length;
  // Long runs say what they are doing: a whole run is minutes with nothing on stdout.
  const estimateS = Math.ceil((n * o.rounds * (o.timeMs + o.warmupMs)) / 1000);
  process.stderr.write(`${n} tasks × ${o.rounds} rounds × ${o.timeMs} ms: about ${estimateS} s\n`);
  for (let round = 0; round < o.rounds; round++) {
    const bench = new Bench({ time: o.timeMs, warmupTime: o.warmupMs, iterations: 5 });
    for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
    let done = 0;
    if (process.stderr.isTTY) {
      bench.addEventListener('cycle', (e) => {
        process.stderr.write(`\rround ${round + 1}/${o.rounds}: ${++done}/${n} ${e.task?.name ?? ''}`.padEnd(72));
      });
    }
    await bench.run();
    if (process.stderr.isTTY) process.stderr.write('\r');
    for (const task of bench.tasks) {
      const r = task.result;
      if (!r || !('throughput' in r)) throw new Error(`${task.name} did not complete`);
      (perRound[task.name] ??= []).push(r.throughput.p50 * (o.itemsPerCall?.[task.name] ?? 1));
    }
    process.stderr.write(`round ${round + 1}/${o.rounds} done\n`);
  }
  return perRound;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2);
}

/** Markdown table: each task's median over rounds, with the min and max round. */
export function printTaskTable(perRound: Record<string, number[]>, unit = 'median ops/s'): void {
  console.log(`| task | ${unit} | min | max |\n| --- | ---: | ---: | ---: |`);
  for (const [name, xs] of Object.entries(perRound)) {
    console.log(`| ${name} | ${fmt(median(xs))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} |`);
  }
}
