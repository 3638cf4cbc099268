import { SECOND, type Nanos } from '../../engine/time.ts';
import type { Node } from '../../k8s/objects.ts';

/**
 * kube-proxy's own health server on :10256 (/healthz and /livez), as pure functions of a small state
 * record, so a run can answer a load balancer's probe at any instant without events of its own.
 *
 * Source: kubernetes/kubernetes pkg/proxy/healthcheck/proxy_health.go (ProxyHealthServer: Updated,
 * QueuedUpdate, Health / isHealthy, NodeEligible, healthzHandler, livezHandler) and
 * cmd/kube-proxy/app/server.go (NewProxyHealthServer(HealthzBindAddress, 2*SyncPeriod, ...)).
 *
 * - Each proxier (one per IP family) calls `Updated` once at the start of SyncLoop and after every
 *   successful syncProxyRules: lastUpdated = now and the pending mark is cleared. It calls
 *   `QueuedUpdate` from `Sync()` whenever a Service or EndpointSlice change is tracked: the oldest
 *   pending instant is set only if none is set.
 * - A proxier is unhealthy when it has been Updated at least once (the loop runs over
 *   lastUpdatedMap only), has a pending update, and now - oldestPending >= healthTimeout (the code
 *   keeps it healthy while the difference is `<` the timeout). Any unhealthy family makes the proxy
 *   unhealthy. A family never Updated is ignored: healthy at start-up.
 * - healthTimeout is 2 x --config syncPeriod (default 30s, so 60s).
 * - /healthz is proxy health AND node eligibility; /livez is proxy health only (it ignores the Node).
 * - Node eligibility (KEP-3836, gate KubeProxyDrainingTerminatingNodes: alpha v1.28, beta v1.30, GA
 *   v1.31; kubernetes/enhancements keps/sig-network/3836-.../kep.yaml): not eligible when the Node
 *   has a deletionTimestamp or carries a taint whose key is ToBeDeletedByClusterAutoscaler (any
 *   effect, any value). In current code (NodeEligible reading nodeManager.Node()) a Node not known
 *   yet is not eligible either; older code (SyncNode) started eligible. Here `node: undefined`
 *   follows the current code.
 */

/** pkg/cluster/ports ProxyHealthzPort. */
export const PROXY_HEALTHZ_PORT = 10256;
/** proxy_health.go ToBeDeletedTaint (the cluster autoscaler's key, cluster-autoscaler/utils/taints). */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';
/** KubeProxyConfiguration syncPeriod default (pkg/proxy/apis/config/v1alpha1 defaults). */
export const DEFAULT_SYNC_PERIOD: Nanos = 30 * SECOND;

/** One proxier's marks (one IP family): undefined when never set / cleared. */
export interface ProxierHealthMarks {
  /** Last `Updated()` call; undefined before the sync loop started. */
  lastUpdated: Nanos | undefined;
  /** Oldest `QueuedUpdate()` since the last `Updated()`; undefined when nothing is pending. */
  oldestPendingQueued: Nanos | undefined;
}

/** What a node's kube-proxy knows of its Node object (proxy_health.go NodeEligible). */
export interface NodeEligibilityState {
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  /** A taint with key ToBeDeletedByClusterAutoscaler is present. */
  toBeDeletedTaint: boolean;
}

export interface ProxyHealthState {
  /** 2 x syncPeriod. */
  healthTimeout: Nanos;
  /** One entry per IP family (a single-stack node has one). */
  families: readonly ProxierHealthMarks[];
  /** The Node as kube-proxy's node informer last saw it; undefined while unknown. */
  node: NodeEligibilityState | undefined;
}

export interface ProxyHealth {
  healthy: boolean;
  /** The most recent lastUpdated over the families (undefined: none yet). */
  lastUpdated: Nanos | undefined;
}

export type HealthStatusCode = 200 | 503;

/** The JSON body fields of /healthz and /livez (times in ns here; RFC 3339 strings upstream). */
export interface ProxyHealthResponse {
  status: HealthStatusCode;
  body: { lastUpdated: Nanos | undefined; currentTime: Nanos; healthy: boolean; nodeEligible?: boolean };
}

/** healthTimeout from the sync period, as cmd/kube-proxy passes it. */
export function healthTimeoutFor(syncPeriod: Nanos = DEFAULT_SYNC_PERIOD): Nanos {
  return 2 * syncPeriod;
}

/** ProxyHealthServer.Health(): the proxiers' health, ignoring the Node. */
export function proxyHealth(s: ProxyHealthState, now: Nanos): ProxyHealth {
  let healthy = true;
  let lastUpdated: Nanos | undefined;
  for (const f of s.families) {
    if (f.lastUpdated === undefined) continue; // never Updated: not in lastUpdatedMap
    if (lastUpdated === undefined || f.lastUpdated > lastUpdated) lastUpdated = f.lastUpdated;
    if (f.oldestPendingQueued === undefined) continue;
    if (now - f.oldestPendingQueued < s.healthTimeout) continue;
    healthy = false;
  }
  return { healthy, lastUpdated };
}

/** ProxyHealthServer.NodeEligible(). */
export function nodeEligible(node: NodeEligibilityState | undefined): boolean {
  return node !== undefined && !node.deleting && !node.toBeDeletedTaint;
}

/** What NodeEligible reads from a Node object. */
export function eligibilityOf(node: Node | undefined): NodeEligibilityState | undefined {
  if (!node) return undefined;
  return {
    deleting: node.metadata.deletionTimestamp !== undefined,
    toBeDeletedTaint: (node.spec.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT),
  };
}

/** healthzHandler: 503 unless the proxy is healthy and the node eligible; lastUpdated reads "now" when healthy. */
export function healthz(s: ProxyHealthState, now: Nanos): ProxyHealthResponse {
  const h = proxyHealth(s, now);
  const eligible = nodeEligible(s.node);
  const ok = h.healthy && eligible;
  return { status: ok ? 200 : 503, body: { lastUpdated: ok ? now : h.lastUpdated, currentTime: now, healthy: h.healthy, nodeEligible: eligible } };
}

/** livezHandler: the proxy's health only (no nodeEligible field). */
export function livez(s: ProxyHealthState, now: Nanos): ProxyHealthResponse {
  const h = proxyHealth(s, now);
  return { status: h.healthy ? 200 : 503, body: { lastUpdated: h.healthy ? now : h.lastUpdated, currentTime: now, healthy: h.healthy } };
}

/**
 * The marks of one proxier, updated as the proxier calls the server (`Updated`, `QueuedUpdate`).
 * A run keeps one per node (and family) and passes `marks` to the functions above.
 */
export class ProxierHealthTracker implements ProxierHealthMarks {
  lastUpdated: Nanos | undefined = undefined;
  oldestPendingQueued: Nanos | undefined = undefined;

  /** Updated(): a successful sync (or the start of SyncLoop). */
  updated(now: Nanos): void {
    this.oldestPendingQueued = undefined;
    this.lastUpdated = now;
  }

  /** QueuedUpdate(): a change was tracked and a sync requested. */
  queuedUpdate(now: Nanos): void {
    if (this.oldestPendingQueued === undefined) this.oldestPendingQueued = now;
  }
}
