import type { Simulator } from '../engine/simulator.ts';
import type { ApiServer, WatchEvent } from './apiserver.ts';
import { objectKey, type Deployment, type ReplicaSet } from './objects.ts';

/**
 * The Deployment controller's RollingUpdate strategy (kubernetes/kubernetes pkg/controller/deployment
 * rolling.go, sync.go, util/deployment_util.go), on simulated time:
 * - the new ReplicaSet is the one whose pod-template-hash label matches the hash of the Deployment's
 *   template; it is created (named `<deployment>-<hash>`) when the template changes (a rollout, e.g.
 *   `kubectl rollout restart` setting kubectl.kubernetes.io/restartedAt);
 * - rolloutRolling: scale the new ReplicaSet up as far as maxSurge allows (NewRSNewReplicas); if it did
 *   not scale up, scale old ReplicaSets down: first their unhealthy replicas (cleanupUnhealthyReplicas),
 *   then as far as maxUnavailable allows (scaleDownOldReplicaSetsForRollingUpdate), oldest first;
 * - maxSurge / maxUnavailable: ints or percentages of spec.replicas, surge rounded up, unavailable
 *   rounded down, both zero -> unavailable 1 (ResolveFenceposts);
 * - it reads ReplicaSet status (availableReplicas, written by the ReplicaSet controller) through its
 *   watch, and writes spec.replicas through the API server; its own writes count at once in its view
 *   (the real controller uses the object the API call returns).
 * - Recreate (recreate.go rolloutRecreate): every old ReplicaSet is scaled to 0; once none of them
 *   has pods left the new ReplicaSet is created (or scaled) at spec.replicas. The real controller waits
 *   for the old pods to stop running (oldPodsRunning, terminating pods included); this one reads the
 *   old ReplicaSets' status.replicas, which counts active pods only, so the new pods may start while
 *   the old ones are still in their grace period.
 * minReadySeconds is 0 (available = ready); progress deadlines and revision history are not modelled.
 */

const CLIENT = 'kube-controller-manager/deployment';
export const LABEL_POD_TEMPLATE_HASH = 'pod-template-hash';

interface RSView {
  key: string;
  rs: ReplicaSet;
  /** spec.replicas as this controller last set or observed it. */
  replicas: number;
  /** Our spec writes not yet observed: while > 0 the watch's spec.replicas may be older than ours. */
  pendingWrites: number;
  created: number;
}

interface DeploymentState {
  key: string;
  d: Deployment | undefined;
  sets: Map<string, RSView>;
}

export class DeploymentController {
  syncs = 0;
  private readonly deployments = new Map<string, DeploymentState>();
  private createdSeq = 0;

  constructor(
    readonly sim: Simulator,
    readonly api: ApiServer,
  ) {}

  start(): void {
    for (const d of this.api.list<Deployment>('Deployment')) this.state(objectKey(d.metadata)).d = d;
    for (const rs of this.api.list<ReplicaSet>('ReplicaSet')) this.observeRS(objectKey(rs.metadata), rs);
    for (const st of this.deployments.values()) this.sync(st);
    this.api.watch({ name: CLIENT, kind: 'Deployment', sendInitialEvents: false, handler: (e) => this.onDeployment(e as WatchEvent<Deployment>) });
    this.api.watch({ name: CLIENT, kind: 'ReplicaSet', sendInitialEvents: false, handler: (e) => this.onReplicaSet(e as WatchEvent<ReplicaSet>) });
  }

  /** The ReplicaSets of a Deployment as this controller sees them (replicas = desired). */
  replicaSetsOf(deploymentKey: string): { name: string; replicas: number; available: number; hash: string }[] {
    const st = this.deployments.get(deploymentKey);
    if (!st) return [];
    return [...st.sets.values()].map((v) => ({ name: v.rs.metadata.name, replicas: v.replicas, available: v.rs.status?.availableReplicas ?? 0, hash: v.rs.metadata.labels?.[LABEL_POD_TEMPLATE_HASH] ?? '' }));
  }

  private state(key: string): DeploymentState {
    let st = this.deployments.get(key);
    if (!st) this.deployments.set(key, (st = { key, d: undefined, sets: new Map() }));
    return st;
  }

  private onDeployment(e: WatchEvent<Deployment>): void {
    const st = this.state(e.key);
    st.d = e.type === 'DELETED' ? undefined : e.object;
    this.sync(st);
  }

  private onReplicaSet(e: WatchEvent<ReplicaSet>): void {
    const st = e.type === 'DELETED' ? undefined : this.observeRS(e.key, e.object, e.previous);
    if (st) this.sync(st);
  }

  private observeRS(key: string, rs: ReplicaSet, previous?: ReplicaSet): DeploymentState | undefined {
    const owner = rs.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'Deployment');
    if (!owner) return undefined;
    const st = this.state(`${rs.metadata.namespace ?? 'default'}/${owner.name}`);
    let v = st.sets.get(key);
    if (!v) {
      st.sets.set(key, (v = { key, rs, replicas: rs.spec.replicas ?? 1, pendingWrites: 0, created: this.createdSeq++ }));
      return st;
    }
    v.rs = rs;
    if (previous && previous.spec !== rs.spec && v.pendingWrites > 0) v.pendingWrites--;
    if (v.pendingWrites === 0) v.replicas = rs.spec.replicas ?? 1;
    return st;
  }

  private sync(st: DeploymentState): void {
    const d = st.d;
    if (!d || d.spec.paused) return;
    this.syncs++;
    const hash = templateHash(d);
    let newRS: RSView | undefined;
    const old: RSView[] = [];
    for (const v of st.sets.values()) {
      if (v.rs.metadata.labels?.[LABEL_POD_TEMPLATE_HASH] === hash) newRS = v;
      else old.push(v);
    }
    old.sort((a, b) => a.created - b.created);
    const replicas = d.spec.replicas ?? 1;
    if (d.spec.strategy?.type === 'Recreate') return this.recreate(st, d, hash, newRS, old, replicas);
    const { surge, unavailable } = resolveFenceposts(d, replicas);
    // getNewReplicaSet creates the new ReplicaSet already at NewRSNewReplicas; reconcileNewReplicaSet
    // scales it; either counts as "scaled up" and ends this sync.
    const current = sum(old, (v) => v.replicas) + (newRS?.replicas ?? 0);
    const newReplicas = newRS?.replicas ?? 0;
    if (!newRS || newReplicas !== replicas) {
      let target: number;
      if (newReplicas > replicas) target = replicas;
      else {
        const maxTotal = replicas + surge;
        target = current >= maxTotal ? newReplicas : newReplicas + Math.min(maxTotal - current, replicas - newReplicas);
      }
      if (!newRS) {
        this.createNewRS(st, d, hash, target);
        return;
      }
      if (target !== newReplicas) {
        this.scale(newRS, target);
        return;
      }
    }
    const all = [...old, newRS];
    // reconcileOldReplicaSets
    const oldCount = sum(old, (v) => v.replicas);
    if (oldCount === 0) return;
    const maxUnavailable = replicas === 0 ? 0 : Math.min(unavailable, replicas);
    const minAvailable = replicas - maxUnavailable;
    const newUnavailable = newRS.replicas - (newRS.rs.status?.availableReplicas ?? 0);
    const maxScaledDown = sum(all, (v) => v.replicas) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return;
    // cleanupUnhealthyReplicas
    let cleaned = 0;
    for (const v of old) {
      if (cleaned >= maxScaledDown) break;
      const avail = v.rs.status?.availableReplicas ?? 0;
      if (v.replicas <= avail) continue; // no unhealthy replicas (or a status not yet caught up)
      const n = Math.min(maxScaledDown - cleaned, v.replicas - avail);
      this.scale(v, v.replicas - n);
      cleaned += n;
    }
    // scaleDownOldReplicaSetsForRollingUpdate. A ReplicaSet's status can still count pods this
    // controller has just scaled away; capping by its desired replicas keeps maxUnavailable honoured.
    const available = sum(all, (v) => Math.min(v.rs.status?.availableReplicas ?? 0, v.replicas));
    if (available <= minAvailable) return;
    let toScale = available - minAvailable;
    for (const v of old) {
      if (toScale <= 0) break;
      if (v.replicas === 0) continue;
      const n = Math.min(v.replicas, toScale);
      this.scale(v, v.replicas - n);
      toScale -= n;
    }
  }

  /** rolloutRecreate: old ReplicaSets to 0, then (their pods gone) the new one at full size. */
  private recreate(st: DeploymentState, d: Deployment, hash: string, newRS: RSView | undefined, old: RSView[], replicas: number): void {
    let scaled = false;
    for (const v of old) {
      if (v.replicas === 0) continue;
      this.scale(v, 0);
      scaled = true;
    }
    if (scaled) return;
    for (const v of old) if ((v.rs.status?.replicas ?? 0) > 0) return; // oldPodsRunning
    if (!newRS) this.createNewRS(st, d, hash, replicas);
    else if (newRS.replicas !== replicas) this.scale(newRS, replicas);
  }

  private createNewRS(st: DeploymentState, d: Deployment, hash: string, replicas: number): RSView {
    const ns = d.metadata.namespace ?? 'default';
    const name = `${d.metadata.name}-${hash}`;
    const labels = { ...(d.spec.template.metadata?.labels ?? {}), [LABEL_POD_TEMPLATE_HASH]: hash };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: ns,
        labels,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        replicas,
        selector: { matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [LABEL_POD_TEMPLATE_HASH]: hash } },
        template: { metadata: { ...d.spec.template.metadata, labels }, spec: d.spec.template.spec },
      },
    };
    const key = `${ns}/${name}`;
    const v: RSView = { key, rs, replicas, pendingWrites: 0, created: this.createdSeq++ };
    st.sets.set(key, v);
    this.api.submit<ReplicaSet>({ kind: 'ReplicaSet', key, client: CLIENT, mutate: (cur) => (cur ? undefined : rs) });
    return v;
  }

  private scale(v: RSView, replicas: number): void {
    v.replicas = replicas;
    v.pendingWrites++;
    this.api.submit<ReplicaSet>({
      kind: 'ReplicaSet',
      key: v.key,
      client: CLIENT,
      mutate: (cur) => (cur ? { ...cur, spec: { ...cur.spec, replicas } } : undefined),
    });
  }
}

function sum(vs: readonly RSView[], f: (v: RSView) => number): number {
  let s = 0;
  for (const v of vs) s += f(v);
  return s;
}

/** intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean, dflt: string): number {
  const x = v ?? dflt;
  if (typeof x === 'number') return x;
  const m = /^(\d+)%$/.exec(x.trim());
  if (!m) return Number(x);
  const f = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(f) : Math.floor(f);
}

/** deploymentutil.ResolveFenceposts (defaults 25%/25%, apps/v1 SetDefaults_Deployment). */
export function resolveFenceposts(d: Deployment, replicas: number): { surge: number; unavailable: number } {
  const ru = d.spec.strategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge, replicas, true, '25%');
  let unavailable = scaledValue(ru?.maxUnavailable, replicas, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/**
 * controller.ComputeHash: FNV-32a of the pod template, written with rand.SafeEncodeString (each byte of
 * the decimal hash mapped onto the vowel-free alphabet). The real one hashes a spew dump of the Go
 * struct; this hashes the template's JSON, so names look alike but differ from the real cluster's.
 */
const templateHashes = new WeakMap<object, string>();

/**
 * Takes `hash` as the hash of `template`: a Deployment read from a cluster keeps the
 * pod-template-hash its current ReplicaSet carries (FindNewReplicaSet matches templates, not this
 * function's hash, which differs from the real one), so the controller sees no change to roll out.
 */
export function adoptTemplateHash(template: object, hash: string): void {
  templateHashes.set(template, hash);
}

export function templateHash(d: Deployment): string {
  const known = templateHashes.get(d.spec.template);
  if (known !== undefined) return known;
  const text = JSON.stringify(d.spec.template);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const dec = String(h >>> 0);
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < dec.length; i++) out += alphabet[dec.charCodeAt(i) % alphabet.length];
  templateHashes.set(d.spec.template, out);
  return out;
}
