/**
 * The equivalent of kube-proxy's proxyutil.LineBuffer: lines of iptables-restore input, counted.
 *
 * Text is accumulated into chunks of about 64 KiB rather than one string per line, so a full sync
 * of 50,000 services neither keeps millions of small strings alive nor builds one string past V8's
 * length limit. A counting buffer (text = false) only counts: kube-proxy's "discard" buffer for the
 * chains a partial sync skips, and the simulator's cost-only syncs.
 */
const CHUNK = 1 << 16;

export class LineBuffer {
  private current = '';
  private readonly done: string[] = [];
  lines = 0;

  constructor(readonly text: boolean) {}

  write(line: string): void {
    this.lines++;
    this.current += line + '\n';
    if (this.current.length >= CHUNK) {
      this.done.push(this.current);
      this.current = '';
    }
  }

  /** Counts a line without its text (for callers that skip building it). */
  count(n = 1): void {
    this.lines += n;
  }

  chunks(): string[] {
    return this.current ? [...this.done, this.current] : this.done.slice();
  }
}
