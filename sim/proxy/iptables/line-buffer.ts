/**
 * The equivalent of kube-proxy's proxyutil.LineBuffer: lines of iptables-restore input, counted;
 * and utiliptables.MakeChainLine, the form of a chain's line in that input.
 *
 * Text is accumulated into chunks of about 64 KiB rather than one string per line, so a full sync
 * of 50,000 services neither keeps millions of small strings alive nor builds one string past V8's
 * length limit. A counting buffer (text = false) only counts: kube-proxy's "discard" buffer for the
 * chains a partial sync skips, and the simulator's cost-only syncs.
 */
const CHUNK = 1 << 16;

export class LineBuffer {
  private current: string[] = [];
  private currentLength = 0;
  private readonly done: string[] = [];
  lines = 0;

  constructor(readonly text: boolean) {}

  write(line: string): void {
    this.lines++;
    this.current.push(line);
    this.currentLength += line.length + 1;
    if (this.currentLength >= CHUNK) this.seal();
  }

  /** join() yields one flat string, so a sealed chunk no longer holds its lines alive. */
  private seal(): void {
    this.done.push(this.current.join('\n') + '\n');
    this.current = [];
    this.currentLength = 0;
  }

  /** Counts a line without its text (for callers that skip building it). */
  count(n = 1): void {
    this.lines += n;
  }

  chunks(): string[] {
    if (this.current.length) this.seal();
    return this.done.slice();
  }
}

/** utiliptables.MakeChainLine: `:NAME - [0:0]` declares (and, in a restore, flushes) a chain. */
export function chainLine(name: string): string {
  return `:${name} - [0:0]`;
}
