import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarioText } from '../scenario/load.ts';
import { modelConfig } from '../scenario/run-point.ts';
import { runModel } from './run-model.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';

/**
 * Runs with zones and per-Service policies, end to end: a study's text, its model config, one run,
 * and every connection's node, Service and endpoint as the observer hears them.
 */
interface Seen {
  node: number;
  service: number;
  ep: string | null;
  outcome: string;
}

function run(cluster: string, extra = 'traffic: { connectionsPerSecond: 400 }\n') {
  const text = `name: t\nquestion: q\nduration: 6s\nwarmup: 0s\nmetrics: { programmingProbe: 0s }\nproxy: { mode: iptables }\ncluster:\n${cluster}\n${extra}`;
  const point = loadScenarioText(text, 'topology-run-test.yaml').points[0]!;
  const config = modelConfig({ scenario: point.scenario, point: point.params, replication: 0, seed: 7 });
  const seen: Seen[] = [];
  let timeline: EndpointTimeline | null = null;
  const toText = (ip: number) => [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
  const out = runModel(config, {
    connection: (node, service, ep, outcome) => seen.push({ node, service, ep: ep === null ? null : toText(ep), outcome }),
    timeline: (t) => (timeline = t),
  });
  const t = timeline! as EndpointTimeline;
  /** The node name of endpoint IP `ip` of `service`. */
  const nodeOf = (service: number, ip: string) => t.endpointsAt(service, 0).find((e) => e.ip === ip)!.nodeName;
  return { m: out.metrics, seen, nodeOf, zones: config.cluster.zones };
}

const THREE_ZONES = `  nodes: 6\n  zones: [{ name: a, nodes: 3, clients: 0.6 }, { name: b, nodes: 2, clients: 0.3 }, { name: c, nodes: 1, clients: 0.1 }]`;

test('ClientIP affinity only on the Services given it: a client returns to its endpoint there, and only there', () => {
  const { m, seen } = run(`  nodes: 3\n  services: { count: 4, endpointsPerService: 4, sessionAffinity: { ClientIP: 0.5 } }`);
  assert.ok(m['affinity.hits']! > 0);
  const endpointsPerClient = new Map<string, Set<string>>();
  for (const s of seen) {
    if (s.outcome !== 'ok') continue;
    const k = `${s.service}/${s.node}`;
    if (!endpointsPerClient.has(k)) endpointsPerClient.set(k, new Set());
    endpointsPerClient.get(k)!.add(s.ep!);
  }
  for (const [k, eps] of endpointsPerClient) {
    const service = Number(k.split('/')[0]);
    if (service < 2) assert.equal(eps.size, 1, `sticky Service ${k}: one endpoint per client`);
    else assert.ok(eps.size > 1, `Service ${k} without affinity spreads a client's connections`);
  }
});

test('internalTrafficPolicy Local drops only connections to the Local Services, on nodes without their endpoint', () => {
  const { m, seen, nodeOf } = run(`  nodes: 3\n  services: { count: 4, endpointsPerService: 1, trafficPolicy: { Local: 0.5 } }`);
  const dropped = seen.filter((s) => s.outcome === 'dropped');
  assert.ok(dropped.length > 0);
  for (const s of dropped) assert.ok(s.service < 2, `drop on Service ${s.service}`);
  for (const s of seen.filter((x) => x.outcome === 'ok' && x.service < 2)) assert.equal(nodeOf(s.service, s.ep!), `node-${s.node}`, 'a Local Service is served on the client\'s node');
  assert.equal(m['localPolicy.drops'], dropped.length);
  const toLocal = seen.filter((s) => s.service < 2).length;
  assert.equal(m['localPolicy.dropRate'], dropped.length / toLocal);
});

test('PreferClose with a hint on every endpoint keeps each zone\'s clients in their zone; none crosses zones', () => {
  const none = run(`${THREE_ZONES}\n  services: { count: 6, endpointsPerService: 6, trafficDistribution: none }`);
  const close = run(`${THREE_ZONES}\n  services: { count: 6, endpointsPerService: 6, trafficDistribution: PreferClose }`);
  const zoneOf = (node: string) => close.zones!.nodeZones[Number(node.slice(5))]!;
  for (const s of close.seen.filter((x) => x.outcome === 'ok')) assert.equal(zoneOf(close.nodeOf(s.service, s.ep!)), close.zones!.nodeZones[s.node], 'endpoint in the client\'s zone');
  assert.equal(close.m['crossZone.rate'], 0);
  assert.equal(close.m['topology.servicesWithHints'], 6);
  assert.equal(close.m['topology.fallbackConnections'], 0);
  assert.ok(none.m['crossZone.rate']! > 0.4, `none: ${none.m['crossZone.rate']}`);
  // connectSetupLatency places client and endpoint by the same zones.
  for (const r of [none, close]) assert.equal(r.m['connectSetupLatency.placement.otherZone'], r.m['crossZone.connections']);
});

test('PreferSameNode sends every client to an endpoint on its own node when there is one', () => {
  const { m, seen, nodeOf } = run(`${THREE_ZONES}\n  services: { count: 4, endpointsPerService: 6, trafficDistribution: PreferSameNode }`);
  const ok = seen.filter((x) => x.outcome === 'ok');
  assert.ok(ok.length > 100);
  for (const s of ok) assert.equal(nodeOf(s.service, s.ep!), `node-${s.node}`);
  assert.equal(m['crossZone.rate'], 0);
});

test('topology-mode Auto gives no hints when a Service has fewer endpoints than zones: routed cluster-wide, counted as fallbacks', () => {
  const few = run(`${THREE_ZONES}\n  services: { count: 5, endpointsPerService: 2, topologyMode: Auto }`);
  assert.equal(few.m['topology.hintFallbackEvents'], 5);
  assert.equal(few.m['topology.servicesWithHints'], 0);
  assert.equal(few.m['topology.fallbackRate'], 1);
  assert.ok(few.m['crossZone.rate']! > 0);
  // With an endpoint per node the zones' CPU shares are met: hints, and no fallback.
  const enough = run(`${THREE_ZONES}\n  services: { count: 5, endpointsPerService: 6, topologyMode: Auto }`);
  assert.equal(enough.m['topology.hintFallbackEvents'], 0);
  assert.equal(enough.m['topology.servicesWithHints'], 5);
  assert.equal(enough.m['topology.fallbackConnections'], 0);
});

test('crossZone.rate and bytes: exactly the successful connections whose endpoint is in another zone', () => {
  const { m, seen, nodeOf, zones } = run(
    `  nodes: 2\n  zones: [{ name: a, clients: 0.25, endpoints: 1 }, { name: b }]\n  services: { count: 1, endpointsPerService: 1 }`,
    'traffic: { connectionsPerSecond: 300, requestsPerConnection: 2, requestBytes: 100, responseBytes: 900 }\n',
  );
  const ok = seen.filter((s) => s.outcome === 'ok');
  const cross = ok.filter((s) => zones!.nodeZones[Number(nodeOf(s.service, s.ep!).slice(5))] !== zones!.nodeZones[s.node]).length;
  // The one endpoint is in zone a: every client in zone b (about 3 in 4) crosses.
  assert.equal(m['crossZone.connections'], cross);
  assert.equal(m['crossZone.rate'], cross / ok.length);
  assert.ok(Math.abs(m['crossZone.rate']! - 0.75) < 0.05, String(m['crossZone.rate']));
  assert.equal(m['crossZone.bytes'], cross * 2 * (100 + 900));
  assert.equal(m['crossZone.bytesPerSecond'], (cross * 2000) / 6);
});

test('load imbalance: max / mean connections per endpoint, over Services with enough connections', () => {
  // Four endpoints, one in zone a where every client is: PreferClose sends all to that one.
  const { m } = run(`  nodes: 2\n  zones: [{ name: a, clients: 1, endpoints: 0.25 }, { name: b, endpoints: 0.75 }]\n  services: { count: 1, endpointsPerService: 4, trafficDistribution: PreferClose }`);
  assert.equal(m['loadImbalance.services'], 1);
  assert.equal(m['loadImbalance.max'], 4);
  assert.equal(m['loadImbalance.mean'], 4);
  const even = run(`  nodes: 2\n  zones: [{ name: a, clients: 1 }, { name: b }]\n  services: { count: 1, endpointsPerService: 4 }`);
  assert.ok(even.m['loadImbalance.max']! < 1.3, String(even.m['loadImbalance.max']));
  // Too few connections per endpoint: no Service counts.
  const thin = run(`  nodes: 2\n  zones: [{ name: a }, { name: b }]\n  services: { count: 50, endpointsPerService: 4 }`, 'traffic: { connectionsPerSecond: 20 }\n');
  assert.equal(thin.m['loadImbalance.services'], 0);
  assert.ok(Number.isNaN(thin.m['loadImbalance.max']));
});

test('with churn the control plane writes the hints: PreferClose stays in zone, Auto with too few endpoints is counted by the controller', () => {
  const zones = `  nodes: 6\n  zones: [{ name: a, nodes: 2, clients: 0.6 }, { name: b, nodes: 2, clients: 0.3 }, { name: c, nodes: 2, clients: 0.1 }]`;
  const churn = 'traffic: { connectionsPerSecond: 400 }\nchurn: { kind: pod-kill, ratePerMinute: 20 }\n';
  const close = run(`${zones}\n  services: { count: 6, endpointsPerService: 6, trafficDistribution: PreferClose }`, churn);
  assert.ok(close.m['churn.podKills']! > 0);
  assert.equal(close.m['topology.servicesWithHints'], 6);
  assert.ok(close.m['crossZone.rate']! < 0.05, String(close.m['crossZone.rate']));
  const auto = run(`${zones}\n  services: { count: 6, endpointsPerService: 2, topologyMode: Auto }`, churn);
  assert.ok(auto.m['topology.hintFallbackEvents']! >= 6, String(auto.m['topology.hintFallbackEvents']));
  assert.equal(auto.m['topology.fallbackRate'], 1);
});

test('PreferSameNode on a node without an endpoint falls back to its zone, not to the cluster', () => {
  // One endpoint per zone (equal endpoint shares): most nodes have none of a Service's, yet every client stays in its zone.
  const evenPods = THREE_ZONES.replace('clients: 0.6 }', 'clients: 0.6, endpoints: 0.3333333333 }').replace('clients: 0.3 }', 'clients: 0.3, endpoints: 0.3333333333 }');
  const { m, seen, nodeOf } = run(`${evenPods}\n  services: { count: 4, endpointsPerService: 3, trafficDistribution: PreferSameNode }`);
  const ok = seen.filter((x) => x.outcome === 'ok');
  assert.ok(ok.some((s) => nodeOf(s.service, s.ep!) !== `node-${s.node}`), 'some clients are served off their node');
  assert.equal(m['crossZone.rate'], 0);
  assert.equal(m['topology.fallbackConnections'], 0);
});

test('without cluster.zones no node has a zone: Auto and PreferClose route cluster-wide, PreferSameNode still keeps clients on their node', () => {
  // As on a real cluster whose nodes lack topology.kubernetes.io/zone: the controller's SetNodes gives
  // up (insufficient node information), and trafficDistribution gives zoneless endpoints no zone hint.
  const auto = run(`  nodes: 3\n  services: { count: 4, endpointsPerService: 6, topologyMode: Auto }`);
  assert.equal(auto.m['topology.hintFallbackEvents'], 4);
  assert.equal(auto.m['topology.servicesWithHints'], 0);
  assert.equal(auto.m['topology.fallbackRate'], 1);
  const close = run(`  nodes: 3\n  services: { count: 4, endpointsPerService: 6, trafficDistribution: PreferClose }`);
  assert.equal(close.m['topology.servicesWithHints'], 0);
  assert.equal(close.m['topology.fallbackRate'], 1);
  const node = run(`  nodes: 3\n  services: { count: 4, endpointsPerService: 6, trafficDistribution: PreferSameNode }`);
  assert.equal(node.m['topology.servicesWithHints'], 4);
  assert.equal(node.m['topology.fallbackRate'], 0);
  const ok = node.seen.filter((x) => x.outcome === 'ok');
  assert.ok(ok.length > 100);
  for (const c of ok) assert.equal(node.nodeOf(c.service, c.ep!), `node-${c.node}`);
});
