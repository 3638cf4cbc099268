import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { SECOND } from '../engine/time.ts';
import type { PodIPStates } from '../k8s/pod-network.ts';
import type { ModeModel } from '../proxy/cost/mode-model.ts';
import { modeModel } from '../proxy/cost/index.ts';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { makeEndpoint, type Endpoint } from '../proxy/endpoint.ts';
import { clusterIPPort } from '../proxy/service-port.ts';
import { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import { parseCidr } from '../net/ipv4.ts';
import { NodeHealth } from './external-health.ts';
import type { ExternalLoadBalancers } from './external-lb.ts';
import { EXTERNAL_REASONS, ExternalMetrics } from './external-metrics.ts';
import type { ExternalServicePort } from './external-services.ts';
import { ExternalTraffic, type ExternalConnectionRecord, type ExternalEntry } from './external-traffic.ts';

const NODES = ['node-0', 'node-1', 'node-2'];

interface Setup {
  endpoints: Endpoint[];
  local: boolean;
  fallback?: boolean;
  mode?: ModeModel['mode'];
  sourceRanges?: string[];
  pods?: PodIPStates;
}

/** One LoadBalancer Service port whose endpoints are `endpoints` in every node's active rules, and a way to send connections to it. */
function world(s: Setup) {
  const sim = new Simulator({ seed: 7 });
  const timeline = new EndpointTimeline();
  const ready = s.endpoints.filter((e) => e.ready);
  timeline.addService(clusterIPPort('default', 'svc-0', '', '10.96.0.10', 80, 'TCP'), ready, s.endpoints);
  const agents: NodeProxy[] = NODES.map((_, node) => ({ node, heard: 0, active: 0, generation: 0, heardUpTo() {}, startLoop() {} }));
  const metrics = new ExternalMetrics(SECOND);
  const port: ExternalServicePort = {
    service: 0,
    kind: 'LoadBalancer',
    nodePort: 30000,
    healthCheckNodePort: s.local ? 30001 : 0,
    address: '198.18.0.1',
    local: s.local,
    sourceRanges: (s.sourceRanges ?? []).map((r) => parseCidr(r)),
  };
  const traffic = new ExternalTraffic(
    sim,
    {
      clients: { connectionsPerSecond: 1, nodePortShare: 0, outsideSourceRanges: 0, terminatingFallback: s.fallback ?? true, connectTimeoutNs: SECOND, rttNs: 0, provider: 'gcp', healthCheck: {} },
      ports: [port],
      timeline,
      agents,
      nodeNames: NODES,
      pods: s.pods ?? { state: () => 'accepting' },
      mode: modeModel(s.mode ?? 'iptables', { costs: DEFAULT_COSTS, iptablesBackend: 'nft' }),
      health: new NodeHealth(sim, NODES, 30 * SECOND, null),
      lbs: { pick: () => 0 } as unknown as ExternalLoadBalancers,
      durationNs: 10 * SECOND,
      warmupNs: 0,
    },
    metrics,
  );
  const send = (node: number, entry: ExternalEntry = 'loadBalancer', outside = false): ExternalConnectionRecord => {
    let seen: ExternalConnectionRecord | undefined;
    traffic.observer = (r) => (seen = r);
    traffic.connect(port, entry, node, outside);
    return seen!;
  };
  return { send, metrics };
}

const ep = (ip: string, nodeName: string, o: { ready?: boolean; terminating?: boolean } = {}) =>
  makeEndpoint({ ip, port: 8080, nodeName, ready: o.ready ?? true, serving: true, terminating: o.terminating ?? false });

test('eTP Cluster masquerades every external connection, even one sent to an endpoint on the node it entered', () => {
  const { send, metrics } = world({ endpoints: [ep('10.244.0.2', 'node-0')], local: false });
  const here = send(0);
  assert.equal(here.outcome, 'ok');
  assert.equal(here.endpointNode, 'node-0');
  assert.equal(here.masqueraded, true);
  const there = send(1);
  assert.equal(there.endpointNode, 'node-0');
  assert.equal(there.masqueraded, true);
  const f = metrics.figures();
  assert.equal(f['external.clientIPPreserved.rate'], 0);
  assert.equal(f['external.extraHops.mean'], 0.5);
  assert.equal(metrics.firstPacketLatency.count, 2, 'each forwarded first packet is costed by the cost tier');
  assert.ok(f['external.firstPacketLatency.mean']! > 0);
});

test('eTP Local keeps the client address and drops at a node without a local endpoint (the client waits its timeout)', () => {
  const { send, metrics } = world({ endpoints: [ep('10.244.0.2', 'node-0'), ep('10.244.1.2', 'node-1')], local: true });
  for (const node of [0, 1]) {
    const r = send(node);
    assert.equal(r.outcome, 'ok');
    assert.equal(r.endpointNode, NODES[node]);
    assert.equal(r.masqueraded, false);
  }
  const none = send(2);
  assert.equal(none.outcome, 'dropped');
  assert.equal(none.reason, EXTERNAL_REASONS.noLocal);
  const f = metrics.figures();
  assert.equal(f['external.clientIPPreserved.rate'], 1);
  assert.equal(f['external.extraHops.mean'], 0);
  assert.equal(f['external.drops.no_local_endpoints'], 1);
});

test('ipvs with eTP Local and no local endpoint forwards without SNAT: the reply is lost and the client times out', () => {
  const { send } = world({ endpoints: [ep('10.244.0.2', 'node-0')], local: true, mode: 'ipvs' });
  const r = send(2);
  assert.equal(r.outcome, 'timeout');
  assert.equal(r.reason, EXTERNAL_REASONS.replyLost);
  assert.equal(r.endpointNode, 'node-0');
});

test('a Service with no endpoint at all is rejected at once under either policy', () => {
  for (const local of [false, true]) {
    const { send } = world({ endpoints: [], local });
    const r = send(0);
    assert.equal(r.outcome, 'refused');
    assert.equal(r.reason, EXTERNAL_REASONS.noEndpoints);
  }
});

test('loadBalancerSourceRanges refuse a client outside them on the load balancer address only, not on the node port', () => {
  const { send } = world({ endpoints: [ep('10.244.0.2', 'node-0')], local: false, sourceRanges: ['203.0.113.0/24'] });
  const lb = send(0, 'loadBalancer', true);
  assert.equal(lb.outcome, 'dropped');
  assert.equal(lb.reason, EXTERNAL_REASONS.sourceRange);
  assert.equal(send(0, 'nodePort', true).outcome, 'ok');
  assert.equal(send(0, 'loadBalancer', false).outcome, 'ok');
});

test('terminating fallback: with only serving-terminating endpoints left, kube-proxy uses them when on and rejects when off', () => {
  const endpoints = [ep('10.244.0.2', 'node-0', { ready: false, terminating: true })];
  const on = world({ endpoints, local: false, fallback: true });
  assert.equal(on.send(1).outcome, 'ok');
  assert.equal(on.send(1).endpointNode, 'node-0');
  const onLocal = world({ endpoints, local: true, fallback: true });
  assert.equal(onLocal.send(0).outcome, 'ok');
  assert.equal(onLocal.send(1).outcome, 'dropped', 'the fallback of the Local list is the node\'s own terminating endpoints');
  for (const local of [false, true]) {
    const off = world({ endpoints, local, fallback: false });
    const r = off.send(0);
    assert.equal(r.outcome, 'refused');
    assert.equal(r.reason, EXTERNAL_REASONS.noEndpoints);
  }
});

test('rules that still hold a gone pod: its address times out, a pod without a listener resets', () => {
  const endpoints = [ep('10.244.0.2', 'node-0')];
  assert.equal(world({ endpoints, local: false, pods: { state: () => 'unreachable' } }).send(0).outcome, 'timeout');
  assert.equal(world({ endpoints, local: false, pods: { state: () => 'refusing' } }).send(0).outcome, 'reset');
});
