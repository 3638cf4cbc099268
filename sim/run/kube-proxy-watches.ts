import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';
import type { ApiServer, WatchEvent } from '../k8s/apiserver.ts';
import type { Latency } from '../k8s/latency.ts';
import type { NodeProxy, PulledWatch } from '../proxy/sync/node-proxy.ts';

/** What the feed does with one delivery: records it and says which timeline version it brings the node to. */
export interface SliceDeliverySink {
  delivered(node: number, committedAt: Nanos, resourceVersion: number, at: Nanos): number;
}

/**
 * Every node's kube-proxy EndpointSlice watch, read when the node's sync loop looks instead of one
 * simulator event per delivery. The deliveries are those of the API server's watch (apiserver.ts
 * `deliver`): the i-th event reaches node n at d(i) = max(d(i-1), committedAt(i) + lag), the lag
 * drawn from the node's own stream `k8s/apiserver/watch/kube-proxy/<node>/EndpointSlice`, one draw per
 * event in commit order, so the same instants from the same numbers.
 *
 * A node whose runner is busy or cooling down reads what has been delivered by then when the
 * runner asks (a sync checks out all of it, as kube-proxy's does). A node whose runner went idle is
 * armed: one wake at the first delivery that brings a newer version, which calls the proxy's
 * heardUpTo (the Run() of its informer handler). That sync starts with what that delivery brought;
 * deliveries at the same instant after it are read at the end of the cool-down, as Run() calls
 * queued during the sync would be.
 *
 * State per node is a few numbers in typed arrays; the events live once in a shared log, dropped
 * once every node has read them.
 */
export class KubeProxyWatches implements PulledWatch {
  /** Commit instants and resourceVersions of the EndpointSlice events from absolute index `base` on. */
  private committed: number[] = [];
  private rvs: number[] = [];
  private base = 0;
  private appended = 0;
  private readonly cursor: Float64Array;
  private readonly last: Float64Array;
  /** The drawn delivery instant of the event at the node's cursor (NaN: not drawn yet). */
  private readonly due: Float64Array;
  private readonly heard: Float64Array;
  private readonly armed: Uint8Array;
  private readonly wakeSeq: Uint32Array;
  private readonly rngs: RandomStream[];
  /** Armed nodes that have read the whole log: the next commit schedules their wake. */
  private waiting: number[] = [];
  /** The node whose wake is calling its proxy: its sync starts with what that delivery brought. */
  private holding = -1;

  constructor(
    private readonly sim: Simulator,
    api: ApiServer,
    private readonly latency: Latency,
    watcherNames: readonly string[],
    private readonly agents: readonly NodeProxy[],
    private readonly sink: SliceDeliverySink,
    heardAtStart: number,
  ) {
    const n = agents.length;
    this.cursor = new Float64Array(n);
    this.last = new Float64Array(n);
    this.due = new Float64Array(n).fill(NaN);
    this.heard = new Float64Array(n).fill(heardAtStart);
    this.armed = new Uint8Array(n);
    this.wakeSeq = new Uint32Array(n);
    this.rngs = watcherNames.map((name) => api.watchStream(name, 'EndpointSlice'));
    api.tap('EndpointSlice', (ev) => this.append(ev));
  }

  /** PulledWatch: delivers what is due by now to `node`; the newest version its watch has delivered. */
  catchUp(node: number): number {
    this.armed[node] = 0;
    if (this.holding !== node) this.readUntil(node, this.sim.now);
    return this.heard[node]!;
  }

  /** Delivers what is due by now to every node without waking any: for figures read at the end of a run. */
  deliverDue(): void {
    const now = this.sim.now;
    for (let node = 0; node < this.cursor.length; node++) this.readUntil(node, now);
  }

  /** PulledWatch: the node's runner is idle; wake it at the next delivery that brings a newer version. */
  arm(node: number): void {
    this.armed[node] = 1;
    this.wakeSeq[node]!++;
    if (this.cursor[node]! < this.end) this.scheduleWake(node);
    else this.waiting.push(node);
  }

  /** @internal the wake of an armed node, at the delivery instant of the event at its cursor. */
  wake(node: number, seq: number): void {
    if (!this.armed[node] || this.wakeSeq[node] !== seq) return;
    const now = this.sim.now;
    while (this.cursor[node]! < this.end) {
      if (this.dueOf(node) > now) return this.scheduleWake(node);
      const before = this.heard[node]!;
      const v = this.deliverOne(node);
      if (v > before) {
        this.armed[node] = 0;
        this.holding = node;
        try {
          this.agents[node]!.heardUpTo(v);
        } finally {
          this.holding = -1;
        }
        return;
      }
    }
    this.waiting.push(node);
  }

  private get end(): number {
    return this.base + this.committed.length;
  }

  private append(ev: WatchEvent): void {
    this.committed.push(ev.committedAt);
    this.rvs.push(ev.resourceVersion);
    if (this.waiting.length > 0) {
      const waiting = this.waiting;
      this.waiting = [];
      for (const node of waiting) if (this.armed[node]) this.scheduleWake(node);
    }
    if (++this.appended % 1024 === 0) this.trim();
  }

  /**
   * Delivers to `node` every event due by `now`, in order: the hot loop of a large cluster (one
   * pass per node per sync over the events since its last), so its state is read once into locals.
   */
  private readUntil(node: number, now: number): void {
    const committed = this.committed;
    const rvs = this.rvs;
    const base = this.base;
    const end = base + committed.length;
    let i = this.cursor[node]!;
    if (i >= end) return;
    const rng = this.rngs[node]!;
    const latency = this.latency;
    const sink = this.sink;
    let last = this.last[node]!;
    let due = this.due[node]!;
    let heard = this.heard[node]!;
    for (; i < end; i++) {
      const at = committed[i - base]!;
      if (due !== due) due = Math.max(last, at + latency.draw(rng));
      if (due > now) break;
      const v = sink.delivered(node, at, rvs[i - base]!, due);
      if (v > heard) heard = v;
      last = due;
      due = NaN;
    }
    this.cursor[node] = i;
    this.last[node] = last;
    this.due[node] = due;
    this.heard[node] = heard;
  }

  private scheduleWake(node: number): void {
    this.sim.scheduleAt(this.dueOf(node), onWake, { watches: this, node, seq: this.wakeSeq[node]! } satisfies Wake);
  }

  /** The delivery instant of the event at the node's cursor, drawing its lag the first time. */
  private dueOf(node: number): number {
    let d = this.due[node]!;
    if (d !== d) {
      const committedAt = this.committed[this.cursor[node]! - this.base]!;
      d = this.due[node] = Math.max(this.last[node]!, committedAt + this.latency.draw(this.rngs[node]!));
    }
    return d;
  }

  private deliverOne(node: number): number {
    const i = this.cursor[node]! - this.base;
    const at = this.dueOf(node);
    this.last[node] = at;
    this.due[node] = NaN;
    this.cursor[node]!++;
    const v = this.sink.delivered(node, this.committed[i]!, this.rvs[i]!, at);
    if (v > this.heard[node]!) this.heard[node] = v;
    return v;
  }

  /** Drops the events every node has read. */
  private trim(): void {
    let min = this.end;
    for (let n = 0; n < this.cursor.length; n++) if (this.cursor[n]! < min) min = this.cursor[n]!;
    const k = min - this.base;
    if (k > 1024 && k * 2 > this.committed.length) {
      this.committed = this.committed.slice(k);
      this.rvs = this.rvs.slice(k);
      this.base = min;
    }
  }
}

interface Wake {
  watches: KubeProxyWatches;
  node: number;
  seq: number;
}
const onWake = (w: Wake) => w.watches.wake(w.node, w.seq);
