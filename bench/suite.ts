/**
 * The contract between an area's benchmark file (`bench/<area>.bench.ts`, default export) and the
 * harness (`npm run bench`, bench/run.ts), which drives every task with tinybench, normalises by a
 * reference workload measured in the same process, and compares against bench/baseline.json.
 */
export interface BenchTask {
  /** Stable name: the baseline is keyed by it (e.g. "netfilter/walk services=10000"). */
  name: string;
  /** Runs once before timing (build rule sets, clusters...). Not timed. */
  beforeAll?: () => void | Promise<void>;
  /** The timed unit of work. Keep it small enough for tinybench to repeat (ms, not minutes). */
  fn: () => void | Promise<void>;
  /** Runs once after timing, to release what beforeAll built (the harness keeps the task record). */
  afterAll?: () => void | Promise<void>;
  /**
   * What one call of fn stands for, so the table can say "ns per packet" rather than "ns per call":
   * e.g. { unit: 'packet', count: 1000 } when fn sends 1000 packets.
   */
  per?: { unit: string; count: number };
  /** Figures of the simulated system measured by the task (rules visited, events, bytes), reported beside timing. */
  figures?: () => Record<string, number>;
}

export interface BenchSuite {
  name: string;
  /**
   * quick: the short form CI runs (fewer sizes, shorter time). A task's name fixes its work: the
   * quick form may leave tasks out, but a task it keeps must do the same work per unit (`per`) as in
   * the full form, since bench:check compares either form with the committed baseline.
   */
  tasks(options: { quick: boolean }): BenchTask[];
}
