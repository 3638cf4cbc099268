import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runModel } from './run-model.ts';
import { kubeProxyTimeouts } from '../conntrack/timeouts.ts';
import type { ModelConfig } from './config.ts';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { MS, SECOND, MINUTE, HOUR, US } from '../engine/time.ts';
import { PROXY_MODES, type ProxyMode } from '../proxy/mode.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import { parseIPv4 } from '../net/ipv4.ts';

const config = (mode: ProxyMode, services = 200): ModelConfig => ({
  seed: 1,
  durationNs: 5 * SECOND,
  warmupNs: SECOND,
  timeseriesIntervalNs: SECOND,
  programmingProbeNs: 0,
  cluster: { nodes: 5, services, endpointsPerService: 4, port: 80, protocol: 'TCP', sessionAffinity: 'None', sessionAffinityTimeoutNs: 10800 * SECOND, trafficPolicy: 'Cluster' },
  proxy: { mode, iptablesBackend: 'legacy', minSyncPeriodNs: SECOND, syncPeriodNs: 30 * SECOND, fullSyncPeriodNs: HOUR, syncFailureProbability: 0 },
  costs: DEFAULT_COSTS,
  traffic: { model: 'open', protocol: 'tcp', clients: 0, thinkTime: { kind: 'constant', value: 0 }, connectionsPerSecond: 2000, requestsPerConnection: 1, rttNs: 100 * US, connectTimeoutNs: 3 * SECOND, sourceNodes: 5, targetServices: services, clientPodsPerNode: 1, requestTime: { kind: 'constant', value: MS }, halfClosedFraction: 0, leftOpenFraction: 0 },
  conntrack: { max: 131072, buckets: 32768, timeouts: kubeProxyTimeouts() },
  controlPlane: {
    watchLatency: { kind: 'lognormal', median: 5 * MS, p99: 50 * MS },
    apiWriteLatency: { kind: 'lognormal', median: 5 * MS, p99: 50 * MS },
    podStartupLatency: { kind: 'lognormal', median: 2 * SECOND, p99: 10 * SECOND },
    endpointSliceBatchPeriodNs: 0,
    maxEndpointsPerSlice: 100,
    readinessProbe: { initialDelay: 0, period: 10 * SECOND, timeout: SECOND, successThreshold: 1, failureThreshold: 3 },
    nodeMonitorGracePeriodNs: 40 * SECOND,
    podEvictionTimeoutNs: 300 * SECOND,
  },
  churn: [],
});

test('same config gives identical metrics; every mode runs', () => {
  for (const mode of PROXY_MODES) {
    const a = runModel(config(mode));
    const b = runModel(config(mode));
    assert.deepEqual(a, b, mode);
    assert.ok(a.metrics['connections.total']! > 6000, `${mode}: ${a.metrics['connections.total']}`);
    assert.equal(a.metrics['connections.ok'], a.metrics['connections.total']);
    // The userspace proxy's start-up sync runs 4 `iptables` commands per service port (check and
    // append of two portals): 800 here, ~17 s, longer than the run.
    assert.equal(a.metrics['syncs.count'], mode === 'userspace' ? 0 : 5, `${mode}: one start-up sync per node`);
  }
});

test('iptables walk grows with services; nftables stays flat', () => {
  const small = (m: ProxyMode) => runModel(config(m, 100)).metrics;
  const large = (m: ProxyMode) => runModel(config(m, 2000)).metrics;
  const ipt = [small('iptables'), large('iptables')];
  // Uniform position in KUBE-SERVICES: mean rules visited grows by about (2000 - 100) / 2.
  const growth = ipt[1]!['rulesVisited.mean']! - ipt[0]!['rulesVisited.mean']!;
  assert.ok(growth > 850 && growth < 1050, `growth ${growth}`);
  const nft = [small('nftables'), large('nftables')];
  assert.equal(nft[0]!['firstPacketLatency.p50'], nft[1]!['firstPacketLatency.p50']);
});

test('a small nf_conntrack_max fills: new connections are dropped, counted by reason', () => {
  const c = config('iptables', 50);
  // 2000 conn/s over 5 nodes for 5 s, each entry kept 120 s in TIME_WAIT: far more than 500 per node.
  c.conntrack = { ...c.conntrack, max: 500, buckets: 128 };
  const m = runModel(c).metrics;
  assert.equal(m['conntrack.entries.peak'], 500);
  assert.ok(m['conntrack.drops']! > 0);
  assert.ok(m['connections.dropped']! > 0);
  assert.equal(m['connections.dropped'], m['drops.conntrack_table_full'], 'every dropped connection names the full table');
  // Every entry here saw a reply (assured) and early_drop only evicts entries without IPS_ASSURED
  // (nf_conntrack_core.c early_drop_list), so a full table of TIME_WAIT entries drops the new SYN.
  assert.equal(m['conntrack.earlyDrops'], 0);
});

test('ebpf (socket-level load balancing) leaves no NAT entries on the client node', () => {
  const m = runModel(config('ebpf', 50)).metrics;
  assert.equal(m['conntrack.entries.peak'], 0);
});

test('closed loop: clients wait for each answer, so a slower data plane offers less load', () => {
  const closed = (mode: ProxyMode, services: number) => {
    const c = config(mode, services);
    c.traffic = { ...c.traffic, model: 'closed', clients: 20, thinkTime: { kind: 'constant', value: 10 * MS } };
    return runModel(c).metrics;
  };
  const m = closed('nftables', 100);
  // 20 clients, each cycle ~ 10 ms think + 1 ms request + 0.3 ms of round trips, over 4 measured seconds.
  const cycles = m['connections.total']!;
  assert.ok(cycles > 20 * 4 * (1000 / 11.5) * 0.9 && cycles < 20 * 4 * (1000 / 11.3) * 1.1, `connections ${cycles}`);
  assert.equal(m['connections.ok'], cycles);
  const slow = closed('userspace', 100);
  assert.ok(slow['connections.total']! < cycles, 'the userspace proxy costs each cycle more');
});

test('churn: pod kills without graceful termination fail connections until every node resyncs; with it, none fail', () => {
  const run = (graceful: boolean) => {
    const c = config('iptables', 20);
    c.durationNs = 20 * SECOND;
    c.churn = [{ kind: 'pod-kill', start: 2 * SECOND, every: 10 * SECOND, fraction: 0.2, gracefulTermination: graceful, terminationGracePeriod: 30 * SECOND }];
    return runModel(c).metrics;
  };
  const hard = run(false);
  const soft = run(true);
  assert.ok(hard['churn.podKills']! > 0, 'pods were killed');
  assert.ok(hard['endpointChanges.count']! > 0, 'the timeline saw endpoint changes');
  assert.ok(hard['networkProgrammingLatency.p50']! > 0, 'programming latency measured');
  assert.ok(hard['staleEndpointWindow.count'] === undefined);
  assert.ok(hard['failedConnections.count']! > 0, `killed pods refuse while rules still point at them: ${hard['failedConnections.count']}`);
  assert.equal(soft['failedConnections.count'], 0, 'a terminating pod keeps serving until every node dropped it');
  assert.deepEqual(run(false), hard, 'deterministic');
});

test('churn: a rollout without graceful termination deletes the existing pods at once (their own grace is 0), so connections fail; with it, none do', () => {
  const run = (graceful: boolean) => {
    const c = config('iptables', 20);
    c.durationNs = 20 * SECOND;
    c.churn = [{ kind: 'rolling-update', start: 2 * SECOND, every: MINUTE, fraction: 0.5, gracefulTermination: graceful, terminationGracePeriod: 30 * SECOND }];
    return runModel(c).metrics;
  };
  const hard = run(false);
  const soft = run(true);
  // One churn event (every minute, 20 s run): every pod it deletes was created at the start.
  assert.equal(hard['churn.rollouts'], 10, 'half of the 20 Deployments restarted once');
  assert.ok(hard['k8s.podsDeleted']! > 0, 'old pods were replaced');
  assert.ok(hard['failedConnections.count']! > 0, `old pods gone while rules still point at them: ${hard['failedConnections.count']}`);
  assert.equal(soft['failedConnections.count'], 0, 'terminating pods keep serving through their grace period');
});

test('every known drop reason has its column, 0 where it did not happen', () => {
  const m = runModel(config('nftables', 20)).metrics;
  for (const k of ['drops.service_has_no_endpoints', 'drops.endpoint_does_not_answer', 'drops.endpoint_refused_RST_', 'drops.conntrack_table_full']) assert.equal(m[k], 0, k);
});

test('the programming probe measures network programming latency on a static cluster, in rules and sync terms', () => {
  const probe = (mode: ProxyMode, services: number) => {
    const c = config(mode, services);
    c.programmingProbeNs = 500 * MS;
    return runModel(c).metrics;
  };
  const small = probe('iptables', 100);
  const large = probe('iptables', 2000);
  assert.ok(small['networkProgrammingLatency.p50']! > 0);
  assert.equal(small['failedConnections.count'], 0, 'a not-ready pod still serves');
  // Each partial sync rewrites KUBE-SERVICES whole: more services, longer syncs, later programming.
  assert.ok(large['networkProgrammingLatency.p50']! > small['networkProgrammingLatency.p50']!);
  assert.ok(large['syncDuration.p50']! > small['syncDuration.p50']!);
  assert.ok(small['staleEndpointWindow.p50']! > 0);
});

interface Failure { node: number; service: number; ep: number; t: number }
interface NodeSync { from: number; to: number; at: number }

/**
 * Runs `c` and checks that every failed connection (or datagram) to an endpoint stops at the end of
 * its node's sync that took the endpoint out of `list` (the rules, or the serving set the UDP
 * conntrack cleanup keeps): each failure has such a sync on its node at or after it, the last failure
 * before that sync is within `gapNs` of its end (they last until then, not less), and the node's
 * next connection to that Service after it succeeds. Returns the number of (node, sync) episodes.
 */
function failuresEndAtTheRemovingSync(c: ModelConfig, list: 'endpoints' | 'serving', gapNs: number, label: string): number {
  let timeline: EndpointTimeline | null = null;
  const syncs: NodeSync[][] = Array.from({ length: c.cluster.nodes }, () => []);
  const failures: Failure[] = [];
  const oks: { node: number; service: number; t: number }[] = [];
  runModel(c, {
    timeline: (t) => (timeline = t),
    sync: (node, from, to, at, ok) => {
      if (ok && to > from) syncs[node]!.push({ from, to, at });
    },
    connection: (node, service, ep, outcome, t) => {
      if (outcome === 'ok') oks.push({ node, service, t });
      else if (ep !== null) failures.push({ node, service, ep, t });
    },
  });
  const tl = timeline! as EndpointTimeline;
  const holds = (service: number, version: number, ep: number) =>
    (list === 'endpoints' ? tl.endpointsAt(service, version) : tl.servingAt(service, version)).some((e) => parseIPv4(e.ip) === ep);
  const episodes = new Map<string, { sync: NodeSync; node: number; service: number; last: number }>();
  for (const f of failures) {
    const removing = syncs[f.node]!.find((s) => s.at >= f.t && holds(f.service, s.from, f.ep) && !holds(f.service, s.to, f.ep));
    if (!removing) assert.fail(`${label}: a failure at ${f.t / 1e9} s on node ${f.node} to ${f.ep} (service ${f.service}) has no later sync there that removed it; syncs ${JSON.stringify(syncs[f.node])}`);
    const key = `${f.node}/${f.service}/${removing.at}`;
    const e = episodes.get(key);
    if (!e) episodes.set(key, { sync: removing, node: f.node, service: f.service, last: f.t });
    else e.last = Math.max(e.last, f.t);
  }
  for (const e of episodes.values()) {
    const end = e.sync.at;
    assert.ok(end - e.last <= gapNs, `${label}: node ${e.node}'s failures stopped at ${e.last / 1e9} s, ${(end - e.last) / 1e6} ms before its sync ended at ${end / 1e9} s`);
    const next = oks.find((o) => o.node === e.node && o.service === e.service && o.t > end);
    const nextFailure = failures.find((f) => f.node === e.node && f.service === e.service && f.t > end);
    assert.ok(next, `${label}: a connection on node ${e.node} succeeds after its sync at ${end / 1e9} s`);
    assert.ok(!nextFailure || nextFailure.t > next.t, `${label}: after the sync at ${end / 1e9} s node ${e.node}'s next connection succeeds`);
  }
  return episodes.size;
}

test('every mode: a deleted backend fails new connections until the node\'s sync that removed it ends, exactly, then they succeed again', () => {
  for (const mode of PROXY_MODES) {
    const c = config(mode, 1);
    c.cluster = { ...c.cluster, nodes: 2, endpointsPerService: 4 };
    // 1000 connections a second per node, a quarter of them to a given endpoint (every 4th with
    // round robin): a failure every ~4 ms while the rules still hold a deleted pod.
    c.traffic = { ...c.traffic, connectionsPerSecond: 2000, sourceNodes: 2, targetServices: 1 };
    c.durationNs = 30 * SECOND;
    c.timeseriesIntervalNs = 100 * MS;
    // About one kill every 10 s among the 4 pods, each gone at once (no grace period).
    c.churn = [{ kind: 'pod-kill', start: 2 * SECOND, every: 10 * SECOND, fraction: 0.5, gracefulTermination: false, terminationGracePeriod: 0 }];
    const m = runModel(c).metrics;
    assert.ok(m['churn.podKills']! >= 1, `${mode}: a pod was killed`);
    assert.ok(m['connections.ok']! > 0.9 * m['connections.total']!, `${mode}: connections reach a backend`);
    assert.ok(m['failedConnections.count']! > 0, `${mode}: connections to the deleted pod fail before the sync`);
    const episodes = failuresEndAtTheRemovingSync(c, 'endpoints', 40 * MS, mode);
    assert.ok(episodes >= 2, `${mode}: ${episodes} node/sync episodes (each node fails until its own sync)`);
  }
});

test('UDP: a client socket keeps its conntrack DNAT; kube-proxy\'s conntrack reconciliation at the end of the sync that took the endpoint out of the serving set stops the failures', () => {
  for (const mode of ['iptables', 'nftables', 'ipvs'] as const) {
    const c = config(mode, 2);
    c.cluster = { ...c.cluster, nodes: 2, endpointsPerService: 4, protocol: 'UDP' };
    // Four client pods per node, so that round robin (ipvs) too binds some socket to the pod killed.
    c.traffic = { ...c.traffic, protocol: 'udp', connectionsPerSecond: 1600, sourceNodes: 2, targetServices: 2, clientPodsPerNode: 4 };
    c.durationNs = 40 * SECOND;
    c.timeseriesIntervalNs = 100 * MS;
    c.churn = [{ kind: 'pod-kill', start: 2 * SECOND, every: 10 * SECOND, fraction: 0.3, gracefulTermination: false, terminationGracePeriod: 0 }];
    const m = runModel(c).metrics;
    // Only the first datagram of each (socket, Service) walks the rules until its entry is deleted;
    // later ones follow conntrack.
    assert.ok(m['rulesVisited.max']! > 0, `${mode}: a socket walked the rules again after its entry was deleted`);
    assert.ok(m['connections.total']! > 50 * 4, 'traffic flowed');
    assert.ok(m['churn.podKills']! >= 1);
    // Hard kills: datagrams to the deleted pod fail until the node's sync deletes the socket's entry.
    // Without that cleanup the socket keeps its stale DNAT to the end of the run. The killed pod is listed terminating but serving for a moment before
    // it leaves the slice: a sync in between keeps its entries (it still serves, as far as kube-proxy
    // knows), so the failures last until the sync after that.
    const failed = m['failedConnections.count']!;
    assert.ok(failed > 0, `${mode}: datagrams to a deleted pod fail until the cleanup`);
    assert.ok(failed < 0.02 * m['connections.total']!, `${mode}: ${failed} of ${m['connections.total']} failed`);
    // Each socket sends every ~10 ms (1600/s over 2 nodes, 4 pods and 2 Services).
    failuresEndAtTheRemovingSync(c, 'serving', 60 * MS, `${mode} UDP`);
  }
});

const withAffinity = (c: ModelConfig, timeoutNs = 10800 * SECOND): ModelConfig => ({ ...c, cluster: { ...c.cluster, sessionAffinity: 'ClientIP', sessionAffinityTimeoutNs: timeoutNs } });

test('ClientIP affinity: every mode sends a client pod back to its endpoint; only its first connection to each Service chooses', () => {
  for (const mode of PROXY_MODES) {
    const c = withAffinity(config(mode, 10));
    c.warmupNs = 0;
    c.cluster = { ...c.cluster, nodes: 2 };
    c.traffic = { ...c.traffic, sourceNodes: 2, clientPodsPerNode: 3 };
    const m = runModel(c).metrics;
    // 2 nodes x 3 client pods x 10 Services, each pair seen many times in 10,000 connections.
    assert.equal(m['affinity.misses'], 2 * 3 * 10, mode);
    assert.equal(m['affinity.hits']! + m['affinity.misses']!, m['connections.total'], mode);
    assert.equal(m['connections.ok'], m['connections.total'], mode);
    assert.ok(Number.isNaN(runModel(config(mode, 10)).metrics['affinity.hits']), `${mode}: no affinity figures without affinity`);
  }
});

test('ClientIP affinity: a client that comes back after the timeout chooses again', () => {
  const run = (timeoutNs: number) => {
    const c = withAffinity(config('iptables', 1), timeoutNs);
    c.warmupNs = 0;
    c.durationNs = 60 * SECOND;
    c.cluster = { ...c.cluster, nodes: 1 };
    c.traffic = { ...c.traffic, sourceNodes: 1, connectionsPerSecond: 0.5 };
    return runModel(c).metrics;
  };
  const short = run(SECOND);
  const long = run(10800 * SECOND);
  assert.equal(long['affinity.misses'], 1);
  // Poisson arrivals at 0.5/s: a gap of 1 s or more (a miss) has probability e^-0.5 = 0.61.
  const total = short['connections.total']!;
  assert.ok(total > 15, `${total} connections`);
  assert.ok(short['affinity.misses']! > 0.4 * total && short['affinity.misses']! < 0.85 * total, `${short['affinity.misses']} misses of ${total}`);
});

test('ClientIP affinity and hard kills: a client pinned to a killed pod fails on every connection until its node syncs, then moves', () => {
  const run = (affinity: boolean, mode: ProxyMode = 'iptables') => {
    let c = config(mode, 1);
    if (affinity) c = withAffinity(c);
    c.cluster = { ...c.cluster, nodes: 1, endpointsPerService: 4 };
    c.traffic = { ...c.traffic, connectionsPerSecond: 200, sourceNodes: 1, targetServices: 1 };
    c.durationNs = 60 * SECOND;
    c.timeseriesIntervalNs = 100 * MS;
    // Poisson kills, 30 a minute among the 4 pods, each gone at once.
    c.churn = [{ kind: 'pod-kill', start: 2 * SECOND, every: 5 * SECOND, ratePerMinute: 30, gracefulTermination: false, terminationGracePeriod: 0 }];
    return runModel(c);
  };
  const c100 = 100 * MS;
  for (const mode of ['iptables', 'nftables', 'ipvs'] as const) {
    const pinned = run(true, mode);
    const spread = run(false, mode);
    const fraction = (out: ReturnType<typeof runModel>) => {
      // Failed / all connections over the inside of each burst: 100 ms bins with failures whose
      // neighbours have failures too (a burst's first and last bins are cut by the kill and the sync).
      const failedAt = new Map(out.timeseries.filter((r) => r.series === 'failedConnections' && r.value > 0).map((r) => [r.t, r.value]));
      const step = c100;
      let failed = 0;
      let all = 0;
      for (const r of out.timeseries) {
        if (r.series !== 'connections' || !failedAt.has(r.t) || !failedAt.has(r.t - step) || !failedAt.has(r.t + step)) continue;
        failed += failedAt.get(r.t)!;
        all += r.value;
      }
      let total = 0;
      for (const v of failedAt.values()) total += v;
      return { failed: total, share: all ? failed / all : NaN, inside: all, bins: failedAt.size };
    };
    const p = fraction(pinned);
    const s = fraction(spread);
    assert.ok(pinned.metrics['churn.podKills']! >= 5, `${mode}: pods were killed (${pinned.metrics['churn.podKills']})`);
    assert.ok(p.failed > 0 && s.failed > 0, `${mode}: kills hit the pinned pod (${p.failed}) and the spread traffic (${s.failed})`);
    // One client pod, pinned: while its pod is gone every connection fails; spread over 4 endpoints,
    // about a quarter do (a half when two kills overlap).
    assert.ok(p.inside > 50 && s.inside > 50, `${mode}: bursts long enough to measure (${p.inside}, ${s.inside} connections)`);
    assert.ok(p.share > 0.95, `${mode}: pinned share ${p.share}`);
    assert.ok(s.share < 0.75, `${mode}: spread share ${s.share}`);
    // ... and only until the node's sync drops the endpoint (and the client's pin with it).
    assert.ok(p.bins <= pinned.metrics['churn.podKills']! * 15, `${mode}: ${p.bins} failing bins`);
    assert.equal(pinned.metrics['connections.total']! - pinned.metrics['connections.ok']!, p.failed, mode);
  }
});

const local = (c: ModelConfig): ModelConfig => ({ ...c, cluster: { ...c.cluster, trafficPolicy: 'Local' } });

test('internalTrafficPolicy Local: clients on a node without a local endpoint are dropped (iptables, nftables) or refused (ipvs, ebpf)', () => {
  for (const mode of ['iptables', 'nftables', 'ipvs', 'ebpf'] as const) {
    // 5 nodes, 2 endpoints per Service placed round-robin: each Service has local endpoints on 2 nodes of 5.
    const c = local(config(mode, 50));
    c.cluster = { ...c.cluster, endpointsPerService: 2 };
    const m = runModel(c).metrics;
    const total = m['connections.total']!;
    const failed = mode === 'iptables' || mode === 'nftables' ? m['connections.dropped']! : m['connections.refused']!;
    assert.ok(failed > 0.55 * total && failed < 0.65 * total, `${mode}: ${failed} of ${total} failed (expected 3/5)`);
    assert.equal(failed, m['drops.no_local_endpoints'], `${mode}: every failure names the missing local endpoint`);
    assert.equal(m['connections.ok']! + failed, total, mode);
    const cluster = runModel(config(mode, 50)).metrics;
    assert.equal(cluster['connections.ok'], cluster['connections.total'], `${mode}: Cluster policy reaches every endpoint from every node`);
  }
});

test('internalTrafficPolicy Local: a node programs only its own endpoints (fewer rules, shorter syncs), and its clients reach them', () => {
  const run = (policy: 'Cluster' | 'Local', mode: ProxyMode) => {
    let c = config(mode, 400);
    if (policy === 'Local') c = local(c);
    // 4 endpoints on each of the 5 nodes: every node has 4 local endpoints of each Service (20 in all).
    c.cluster = { ...c.cluster, endpointsPerService: 20 };
    c.programmingProbeNs = 500 * MS;
    return runModel(c).metrics;
  };
  for (const mode of ['iptables', 'nftables'] as const) {
    const l = run('Local', mode);
    const cl = run('Cluster', mode);
    assert.equal(l['connections.ok'], l['connections.total'], `${mode}: no drops with local endpoints everywhere`);
    assert.ok(l['kernel.rules']! < cl['kernel.rules']!, `${mode}: rules ${l['kernel.rules']} vs ${cl['kernel.rules']}`);
    assert.ok(l['fullSyncDuration.mean']! < cl['fullSyncDuration.mean']!, `${mode}: full sync ${l['fullSyncDuration.mean']} vs ${cl['fullSyncDuration.mean']}`);
    assert.ok(l['syncUnits.max']! < cl['syncUnits.max']!, `${mode}: sync units ${l['syncUnits.max']} vs ${cl['syncUnits.max']}`);
  }
  // iptables: the probability cascade walks local endpoints only: 4 instead of 20.
  assert.ok(run('Local', 'iptables')['rulesVisited.mean']! < run('Cluster', 'iptables')['rulesVisited.mean']! - 5);
});

test('internalTrafficPolicy Local with churn: a hard-killed local pod fails its node\'s clients until the sync, then they are dropped until a local pod is ready again', () => {
  const c = local(config('iptables', 1));
  c.cluster = { ...c.cluster, nodes: 2, endpointsPerService: 2 };
  c.traffic = { ...c.traffic, connectionsPerSecond: 200, sourceNodes: 2, targetServices: 1 };
  c.durationNs = 40 * SECOND;
  c.churn = [{ kind: 'pod-kill', start: 2 * SECOND, every: 10 * SECOND, ratePerMinute: 6, gracefulTermination: false, terminationGracePeriod: 0 }];
  const m = runModel(c).metrics;
  assert.ok(m['churn.podKills']! >= 1, 'pods were killed');
  assert.ok(m['connections.timeout']! + m['connections.reset']! > 0, 'connections to the killed pod failed before the sync');
  assert.ok(m['drops.no_local_endpoints']! > 0, 'then the node had no local endpoint until the replacement was ready');
  assert.deepEqual(runModel(c).metrics, m, 'deterministic');
});

test('ports per Service: each port is a service port of its own for kube-proxy, so 100 Services of 3 ports program like 300 of 1', () => {
  const run = (services: number, ports: number) => {
    const c = config('iptables', services);
    c.cluster = { ...c.cluster, portsPerService: ports };
    return runModel(c).metrics;
  };
  const three = run(100, 3);
  const single = run(300, 1);
  assert.equal(three['connections.ok'], three['connections.total']);
  assert.equal(three['kernel.rules'], single['kernel.rules']);
  assert.equal(three['syncUnits.max'], single['syncUnits.max'], 'the initial full sync writes the same lines');
  // KUBE-SERVICES holds 300 rules either way: the mean walk is about the same.
  assert.ok(Math.abs(three['rulesVisited.mean']! - single['rulesVisited.mean']!) < 15, `${three['rulesVisited.mean']} vs ${single['rulesVisited.mean']}`);
  assert.ok(three['rulesVisited.mean']! > run(100, 1)['rulesVisited.mean']! + 60);
});

test('ports per Service with churn: a pod event changes every port of its Service; failures still stop at the sync', () => {
  for (const mode of ['iptables', 'nftables'] as const) {
    const c = config(mode, 2);
    c.cluster = { ...c.cluster, nodes: 2, endpointsPerService: 4, portsPerService: 2 };
    c.traffic = { ...c.traffic, connectionsPerSecond: 400, sourceNodes: 2, targetServices: 2 };
    c.durationNs = 30 * SECOND;
    c.churn = [{ kind: 'pod-kill', start: 2 * SECOND, every: 10 * SECOND, ratePerMinute: 6, gracefulTermination: false, terminationGracePeriod: 0 }];
    const m = runModel(c).metrics;
    assert.ok(m['churn.podKills']! >= 1, `${mode}: pods were killed`);
    assert.ok(m['endpointChanges.count']! > 0 && m['endpointChanges.count']! % 2 === 0, `${mode}: ${m['endpointChanges.count']} changes, in pairs`);
    assert.ok(m['failedConnections.count']! > 0, `${mode}: connections to the killed pod failed`);
    assert.ok(m['failedConnections.rate']! < 0.05, `${mode}: only until the sync (${m['failedConnections.rate']})`);
  }
});

test('ClientIP affinity over UDP: a socket walks the rules (and the affinity checks) only while it has no conntrack entry; socket-level LB checks every time', () => {
  const run = (mode: ProxyMode) => {
    const c = withAffinity(config(mode, 2));
    c.warmupNs = 0;
    c.cluster = { ...c.cluster, nodes: 2, protocol: 'UDP' };
    c.traffic = { ...c.traffic, protocol: 'udp', connectionsPerSecond: 400, sourceNodes: 2, targetServices: 2 };
    return runModel(c).metrics;
  };
  const ipt = run('iptables');
  // 2 nodes x 1 client pod x 2 Services: one walk per (socket, Service); the entry carries the rest.
  assert.equal(ipt['affinity.misses'], 4);
  assert.equal(ipt['affinity.hits'], 0);
  assert.equal(ipt['connections.ok'], ipt['connections.total']);
  const ebpf = run('ebpf');
  assert.equal(ebpf['affinity.misses'], 4);
  assert.equal(ebpf['affinity.hits']! + 4, ebpf['connections.total']);
});

test('churn runs say when each node heard of each change: watch delivery per event and node, trigger to heard', () => {
  const c = config('iptables', 20);
  c.durationNs = 20 * SECOND;
  c.churn = [{ kind: 'container-crash', start: 2 * SECOND, every: 10 * SECOND, ratePerMinute: 30 }];
  const m = runModel(c).metrics;
  assert.ok(m['churn.containerCrashes']! > 0, 'containers crashed');
  assert.equal(m['k8s.podsDeleted'], 0, 'a crash deletes nothing');
  const n = m['watchDelivery.count']!;
  assert.ok(n > 0, `deliveries ${n}`);
  // The watch delay is lognormal median 5 ms, p99 50 ms, per event and watcher.
  assert.ok(m['watchDelivery.p50']! > 2 * MS && m['watchDelivery.p50']! < 10 * MS, `p50 ${m['watchDelivery.p50']}`);
  assert.ok(m['watchDelivery.max']! >= m['watchDelivery.p99']!);
  // Hearing comes after the slice commit, which comes after the trigger.
  assert.ok(m['endpointHeardLatency.p50']! > m['watchDelivery.p50']!);
  assert.ok(m['endpointHeardLatency.count']! > 0);
});

test('sync failures: with p = 1 every sync fails and is retried after syncPeriod; with p = 0.3 some fail, the rest program the changes', () => {
  const always = config('iptables', 20);
  always.durationNs = 65 * SECOND;
  always.proxy = { ...always.proxy, syncFailureProbability: 1 };
  const m = runModel(always).metrics;
  // Per node: the start-up sync at 0, retries at about 30 s and 60 s (RetryAfter(syncPeriod)).
  assert.equal(m['syncs.count'], 15);
  assert.equal(m['syncs.failed'], 15);
  assert.equal(m['connections.ok'], m['connections.total'], 'the rules already in the kernel keep serving');

  const some = config('iptables', 20);
  some.durationNs = 60 * SECOND;
  some.programmingProbeNs = 500 * MS;
  some.proxy = { ...some.proxy, syncFailureProbability: 0.3 };
  const a = runModel(some).metrics;
  assert.ok(a['syncs.failed']! > 0 && a['syncs.failed']! < a['syncs.count']!, `${a['syncs.failed']} of ${a['syncs.count']} failed`);
  const none = runModel({ ...some, proxy: { ...some.proxy, syncFailureProbability: 0 } }).metrics;
  assert.equal(none['syncs.failed'], 0);
  // A failure holds a node's changes back until its next attempt (the probe's next change, which Run()s
  // the runner before the 30 s retry is due, or the retry): the tail of programming latency grows.
  assert.ok(a['networkProgrammingLatency.p99']! > none['networkProgrammingLatency.p99']! + SECOND, `${a['networkProgrammingLatency.p99']} vs ${none['networkProgrammingLatency.p99']}`);
  assert.deepEqual(runModel(some).metrics, a, 'deterministic');
});
