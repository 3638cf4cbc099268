import type { Simulator } from '../../engine/simulator.ts';
import type { Nanos } from '../../engine/time.ts';

/**
 * A DNS server's CPU: `cores` workers taking jobs in arrival order (FIFO), each job holding one core
 * for its CPU time. A fractional `cores` (a CPU limit such as 0.5 or 1.5) gives ceil(cores) workers,
 * each running at cores / ceil(cores) of a core (CFS quota spread evenly). Client queries wait in a bounded buffer: the UDP socket's receive buffer. When it
 * is full the kernel drops the datagram silently (net/ipv4/udp.c __udp_queue_rcv_skb: sk_rcvbuf
 * exceeded, counted in RcvbufErrors), and the client sees nothing. Work the server started itself
 * (handling an upstream's answer) is not bounded by that buffer.
 *
 * This is a simplification of CoreDNS's server (miekg/dns, used by core/dnsserver): one reader
 * goroutine per socket starts a goroutine per query, and the Go scheduler shares the cores among
 * them. Under overload the effect is the same in kind: queries wait longer and longer, and once the
 * backlog reaches the socket buffer new ones are lost. FIFO service puts the whole wait in the queue
 * rather than spreading it over every query in progress.
 */
export class CpuQueue {
  private readonly waiting: Job[] = [];
  private head = 0;
  private busyCores = 0;
  private readonly workers: number;
  /** A worker's speed in cores (1 for whole cores). */
  private readonly speed: number;
  /** Client queries waiting (not yet on a core). */
  private bufferedQueries = 0;
  /** CPU time spent, ns (the sum of the jobs' costs once they finish). */
  busyNs = 0;
  private readonly since: Nanos;
  /** Bumped by `clear`: a job started before it does not call back. */
  private epoch = 0;

  constructor(private readonly sim: Simulator, readonly cores: number, readonly bufferLimit: number) {
    if (!(cores > 0 && Number.isFinite(cores))) throw new RangeError(`CpuQueue: cores must be > 0, got ${cores}`);
    this.workers = Math.ceil(cores);
    this.speed = cores / this.workers;
    this.since = sim.now;
  }

  /**
   * Queues a job; `done` runs when it has had `costNs` of one core. A client query (`fromSocket`)
   * finding the receive buffer full is refused: returns false and `done` never runs.
   */
  submit(costNs: Nanos, done: () => void, fromSocket: boolean): boolean {
    if (fromSocket && this.busyCores === this.workers && this.bufferedQueries >= this.bufferLimit) return false;
    this.waiting.push({ costNs: Math.max(0, Math.round(costNs)), done, fromSocket });
    if (fromSocket) this.bufferedQueries++;
    this.startNext();
    return true;
  }

  /** Jobs waiting for a core. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Share of the cores busy since the queue was made, from the CPU time of the finished jobs. */
  utilisation(now: Nanos): number {
    const elapsed = now - this.since;
    return elapsed > 0 ? this.busyNs / (elapsed * this.cores) : 0;
  }

  /** Forgets every job, waiting or running (the process exited). */
  clear(): void {
    this.waiting.length = 0;
    this.head = 0;
    this.busyCores = 0;
    this.bufferedQueries = 0;
    this.epoch++;
  }

  private startNext(): void {
    while (this.busyCores < this.workers && this.head < this.waiting.length) {
      const job = this.waiting[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      if (job.fromSocket) this.bufferedQueries--;
      this.busyCores++;
      this.sim.schedule(this.speed === 1 ? job.costNs : Math.round(job.costNs / this.speed), finish, { queue: this, job, epoch: this.epoch });
    }
  }

  /** @internal */
  finished(job: Job, epoch: number): void {
    if (epoch !== this.epoch) return;
    this.busyCores--;
    this.busyNs += job.costNs;
    job.done();
    this.startNext();
  }
}

interface Job {
  costNs: Nanos;
  done: () => void;
  fromSocket: boolean;
}

const finish = (r: { queue: CpuQueue; job: Job; epoch: number }) => r.queue.finished(r.job, r.epoch);
