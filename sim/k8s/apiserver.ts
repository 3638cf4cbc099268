import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';
import { ZERO_LATENCY, type Latency } from './latency.ts';
import { NameGenerator } from './names.ts';
import { objectKey, type Kind, type KubeObject } from './objects.ts';
import { formatTimestamp } from './timestamps.ts';

/**
 * The API server as the rest of the control plane sees it: an object store where every write gets
 * the next resourceVersion, and watches that deliver each change to each watcher after a delay drawn
 * from the watcher's own stream, in commit order per watcher (a later event never overtakes an earlier
 * one for the same watcher: the watch cache serves one ordered stream per watch, see
 * k8s.io/apiserver/pkg/storage/cacher).
 *
 * Scale: events live once, in a per-channel log shared by every watcher of the channel; a watcher is
 * a cursor into it plus one pending simulator event, and a backlog that is due is delivered in one go.
 * Objects are immutable versions shared by the store, the log and every watcher. Channels are per kind,
 * plus per node for Pods (the kubelet's `spec.nodeName=<node>` field selector).
 */

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  readonly type: WatchEventType;
  /** The new version; for DELETED, the last version. */
  readonly object: T;
  /** The version before this change (undefined for ADDED), as informers hand old and new to handlers. */
  readonly previous: T | undefined;
  readonly key: string;
  readonly resourceVersion: number;
  /** When the API server committed the change. */
  readonly committedAt: Nanos;
  /**
   * What caused it: for EndpointSlices written by the controller, the endpoints.kubernetes.io/
   * last-change-trigger-time (the pod or Service change that led here, exact in ns); otherwise the
   * commit time. Network programming latency runs from here to the moment a proxy's rules include it.
   */
  readonly triggerTime: Nanos;
}

export type WatchHandler = (event: WatchEvent, watch: Watch) => void;

export interface WatchOptions {
  /** Names the watcher and its delay stream (`k8s/apiserver/watch/<name>/<kind>`). */
  name: string;
  kind: Kind;
  /** Pods only: the field selector spec.nodeName=<node> (what a kubelet watches). */
  nodeName?: string;
  /** Delivery delay per event; defaults to the server's watch latency. */
  latency?: Latency;
  /**
   * Deliver the objects that exist now as ADDED events first (an informer's LIST then WATCH).
   * Default true. Proxies that build their initial state once for all nodes pass false and use list().
   */
  sendInitialEvents?: boolean;
  handler: WatchHandler;
}

export interface ApiServerOptions {
  /** Default watch delivery delay. */
  watchLatency?: Latency;
  /** Time from a client's request to the commit (request + etcd write). */
  writeLatency?: Latency;
}

/** A write request: `mutate` maps the stored version (undefined if none) to the new one. */
export interface WriteRequest<T extends KubeObject = KubeObject> {
  kind: T['kind'];
  key: string;
  /** Client name: writes of one client commit in the order issued (stream `k8s/apiserver/write/<client>`). */
  client: string;
  /** Return the new version, DELETE to remove the object, or undefined to leave it (e.g. it is gone). */
  mutate: (current: T | undefined) => T | typeof DELETE | undefined;
  triggerTime?: Nanos;
  onCommit?: (stored: T | undefined, event: WatchEvent<T> | undefined) => void;
}

export const DELETE = Symbol('delete');

class Channel {
  log: WatchEvent[] = [];
  base = 0;
  watchers: Watch[] = [];
  appends = 0;
  constructor(readonly name: string) {}
  get end(): number {
    return this.base + this.log.length;
  }
  /** Drops events every watcher has already received. */
  trim(): void {
    let min = this.end;
    for (const w of this.watchers) if (!w.stopped && w.cursor < min) min = w.cursor;
    const n = min - this.base;
    if (n > 1024 && n * 2 > this.log.length) {
      this.log.splice(0, n);
      this.base = min;
    }
  }
}

export class Watch {
  /** Absolute index of the next event to deliver in the channel's log. */
  cursor: number;
  lastDelivery: Nanos = 0;
  pending = false;
  stopped = false;
  /** Events delivered so far. */
  delivered = 0;
  /** resourceVersion of the last event delivered. */
  lastResourceVersion = 0;
  constructor(
    readonly server: ApiServer,
    readonly name: string,
    readonly channel: Channel,
    readonly latency: Latency,
    readonly rng: RandomStream,
    readonly handler: WatchHandler,
  ) {
    this.cursor = channel.end;
  }
  stop(): void {
    this.stopped = true;
    const i = this.channel.watchers.indexOf(this);
    if (i >= 0) this.channel.watchers.splice(i, 1);
  }
}

// Shared handlers with records instead of closures (see Simulator.schedule).
// `pending` stays true while a watcher's handler runs, so a write the handler commits synchronously is
// picked up by this loop rather than scheduled twice.
function deliver(w: Watch, sim: Simulator): void {
  if (w.stopped) return;
  const ch = w.channel;
  for (;;) {
    const ev = ch.log[w.cursor - ch.base]!;
    w.cursor++;
    w.lastDelivery = sim.now;
    w.delivered++;
    w.lastResourceVersion = ev.resourceVersion;
    w.handler(ev, w);
    if (w.stopped) return;
    if (w.cursor >= ch.end) {
      w.pending = false;
      // A channel with one watcher (a kubelet's node-scoped pod watch) rarely reaches trim()'s batch
      // size: drop its log once that watcher has read it, so old pod versions do not pile up per node.
      if (ch.watchers.length === 1 && ch.log.length > 0) {
        ch.base = ch.end;
        ch.log = [];
      }
      return;
    }
    const next = ch.log[w.cursor - ch.base]!;
    const t = Math.max(sim.now, next.committedAt + w.latency.draw(w.rng));
    if (t > sim.now) {
      sim.scheduleAt(t, deliver, w);
      return;
    }
  }
}

interface InitialList {
  w: Watch;
  objects: KubeObject[];
}
function deliverInitial(r: InitialList, sim: Simulator): void {
  const w = r.w;
  if (w.stopped) return;
  const rv = r.w.server.resourceVersion;
  for (const o of r.objects) {
    w.delivered++;
    w.handler({ type: 'ADDED', object: o, previous: undefined, key: objectKey(o.metadata), resourceVersion: Number(o.metadata.resourceVersion ?? rv), committedAt: sim.now, triggerTime: sim.now }, w);
    if (w.stopped) return;
  }
  w.lastDelivery = sim.now;
  w.lastResourceVersion = rv;
  w.pending = false;
  if (w.cursor < w.channel.end) {
    const next = w.channel.log[w.cursor - w.channel.base]!;
    w.pending = true;
    sim.scheduleAt(Math.max(sim.now, next.committedAt + w.latency.draw(w.rng)), deliver, w);
  }
}

interface PendingWrite {
  server: ApiServer;
  req: WriteRequest;
}
function commitWrite(p: PendingWrite): void {
  p.server.commit(p.req);
}

export class ApiServer {
  /** The last resourceVersion assigned. */
  resourceVersion = 0;
  /** Writes committed and watch events emitted (counted once, not per watcher). */
  writes = 0;
  /** Objects removed from the store, per kind (a graceful pod delete counts when it completes). */
  private readonly deletedByKind = new Map<Kind, number>();
  readonly watchLatency: Latency;
  readonly writeLatency: Latency;
  private readonly store = new Map<Kind, Map<string, KubeObject>>();
  private readonly channels = new Map<string, Channel>();
  private readonly taps = new Map<Kind, ((ev: WatchEvent) => void)[]>();
  private readonly clientLastCommit = new Map<string, Nanos>();
  private readonly names: NameGenerator;
  private uidCounter = 0;

  constructor(
    readonly sim: Simulator,
    options: ApiServerOptions = {},
  ) {
    this.watchLatency = options.watchLatency ?? ZERO_LATENCY;
    this.writeLatency = options.writeLatency ?? ZERO_LATENCY;
    this.names = new NameGenerator(sim.rng('k8s/apiserver/generate-name'));
  }

  private bucket(kind: Kind): Map<string, KubeObject> {
    let b = this.store.get(kind);
    if (!b) this.store.set(kind, (b = new Map()));
    return b;
  }

  get<T extends KubeObject>(kind: T['kind'], key: string): T | undefined {
    return this.store.get(kind)?.get(key) as T | undefined;
  }

  /** The stored objects of a kind, in creation order (shared versions: do not modify). */
  list<T extends KubeObject>(kind: T['kind']): IterableIterator<T> {
    return this.bucket(kind).values() as IterableIterator<T>;
  }

  count(kind: Kind): number {
    return this.store.get(kind)?.size ?? 0;
  }

  /** Objects of a kind removed from the store so far (DELETED events committed). */
  deletions(kind: Kind): number {
    return this.deletedByKind.get(kind) ?? 0;
  }

  /** metadata.generateName: prefix + 5 random characters, retried until the name is free. */
  generateName(kind: Kind, namespace: string | undefined, prefix: string): string {
    const b = this.bucket(kind);
    for (;;) {
      const n = this.names.generate(prefix);
      if (!b.has(namespace ? `${namespace}/${n}` : n)) return n;
    }
  }

  /** A fresh uid (UUID-shaped, deterministic). */
  newUID(): string {
    const n = ++this.uidCounter;
    return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  }

  /** Starts a watch. Events committed from now on are delivered; with sendInitialEvents, existing objects first. */
  watch(o: WatchOptions): Watch {
    const chName = o.nodeName !== undefined ? `${o.kind}@${o.nodeName}` : o.kind;
    let ch = this.channels.get(chName);
    if (!ch) this.channels.set(chName, (ch = new Channel(chName)));
    const lat = o.latency ?? this.watchLatency;
    const w = new Watch(this, o.name, ch, lat, this.watchStream(o.name, o.kind), o.handler);
    ch.watchers.push(w);
    if (o.sendInitialEvents !== false) {
      let objects = [...this.list(o.kind)];
      if (o.nodeName !== undefined) objects = objects.filter((p) => p.kind === 'Pod' && p.spec.nodeName === o.nodeName);
      if (objects.length > 0) {
        w.pending = true;
        this.sim.schedule(lat.draw(w.rng), deliverInitial, { w, objects } satisfies InitialList);
      }
    }
    return w;
  }

  /** The delay stream of the watch named `name` on `kind`. */
  watchStream(name: string, kind: Kind): RandomStream {
    return this.sim.rng(`k8s/apiserver/watch/${name}/${kind}`);
  }

  /**
   * Calls `listener` at the commit of every change of `kind`, in commit order, with the event every
   * watch of the kind gets. For a reader that computes its own watchers' deliveries when it needs
   * them (the kube-proxy watches of sim/run/kube-proxy-watches.ts) instead of one event per delivery.
   * The listener runs inside the commit: it must not write.
   */
  tap(kind: Kind, listener: (ev: WatchEvent) => void): void {
    let l = this.taps.get(kind);
    if (!l) this.taps.set(kind, (l = []));
    l.push(listener);
  }

  /** Issues a write; it commits after the write latency, in order with the client's earlier writes. */
  submit<T extends KubeObject>(req: WriteRequest<T>): void {
    const rng = this.sim.rng(`k8s/apiserver/write/${req.client}`);
    const t = Math.max(this.sim.now + this.writeLatency.draw(rng), this.clientLastCommit.get(req.client) ?? 0);
    this.clientLastCommit.set(req.client, t);
    this.sim.scheduleAt(t, commitWrite, { server: this, req: req as unknown as WriteRequest } satisfies PendingWrite);
  }

  /** Applies a write now (used by submit at commit time, and to load an initial cluster). */
  commit<T extends KubeObject>(req: WriteRequest<T>): WatchEvent<T> | undefined {
    const b = this.bucket(req.kind);
    const cur = b.get(req.key) as T | undefined;
    const next = req.mutate(cur);
    if (next === undefined || (next === DELETE && cur === undefined)) {
      req.onCommit?.(cur, undefined);
      return undefined;
    }
    const rv = ++this.resourceVersion;
    const now = this.sim.now;
    let type: WatchEventType;
    let obj: T;
    if (next === DELETE) {
      type = 'DELETED';
      obj = { ...cur!, metadata: { ...cur!.metadata, resourceVersion: String(rv) } };
      b.delete(req.key);
      this.deletedByKind.set(req.kind, (this.deletedByKind.get(req.kind) ?? 0) + 1);
    } else {
      type = cur === undefined ? 'ADDED' : 'MODIFIED';
      const meta = { ...next.metadata, resourceVersion: String(rv) };
      if (type === 'ADDED') {
        meta.uid ??= this.newUID();
        meta.creationTimestamp ??= formatTimestamp(now);
      }
      obj = { ...next, metadata: meta } as T;
      b.set(req.key, obj);
    }
    this.writes++;
    const ev: WatchEvent<T> = { type, object: obj, previous: cur, key: req.key, resourceVersion: rv, committedAt: now, triggerTime: req.triggerTime ?? now };
    this.publish(req.kind, ev as WatchEvent);
    req.onCommit?.(type === 'DELETED' ? undefined : obj, ev);
    return ev;
  }

  private publish(kind: Kind, ev: WatchEvent): void {
    const taps = this.taps.get(kind);
    if (taps) for (const t of taps) t(ev);
    const ch = this.channels.get(kind);
    if (ch && ch.watchers.length > 0) this.append(ch, ev);
    if (kind === 'Pod') {
      const node = (ev.object as { spec: { nodeName?: string } }).spec.nodeName;
      if (node !== undefined) {
        const nch = this.channels.get(`Pod@${node}`);
        if (nch && nch.watchers.length > 0) this.append(nch, ev);
      }
    }
  }

  private append(ch: Channel, ev: WatchEvent): void {
    const idx = ch.end;
    ch.log.push(ev);
    const sim = this.sim;
    const ws = ch.watchers;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      if (w.pending || w.cursor !== idx) continue;
      const t = Math.max(w.lastDelivery, sim.now + w.latency.draw(w.rng));
      w.pending = true;
      sim.scheduleAt(t, deliver, w);
    }
    if (++ch.appends % 1024 === 0) ch.trim();
  }
}
