import type { BenchSuite, BenchTask } from './suite.ts';
import { Simulator } from '../sim/engine/simulator.ts';
import { MS, SECOND } from '../sim/engine/time.ts';
import { ControlPlane } from '../sim/k8s/control-plane.ts';
import { samplerOf } from '../sim/engine/distribution.ts';
import { reconcileEndpointSlices } from '../sim/k8s/endpointslice-reconciler.ts';
import type { EndpointSlice, Node, Pod, Service } from '../sim/k8s/objects.ts';
import { FULL_SCALE, runScale, type ScaleResult } from './k8s-scale.ts';
import { loadScenarioText } from '../sim/scenario/load.ts';
import { runPoint } from '../sim/scenario/run-point.ts';
import type { RunPointInput } from '../sim/scenario/run-point-contract.ts';

/**
 * The Kubernetes control plane's own cost: the EndpointSlice reconcile of one large Service (what every
 * pod change of that Service costs the simulated controller), and a short churn run of the whole
 * control plane (kubelets, controllers, watches) per simulated event, and issue 4's cluster-scale
 * rollout (bench/k8s-scale.ts) at a fiftieth of its size, so a regression in it shows in bench:check
 * without a minute-long run (the full size: `npx tsx bench/k8s-scale.ts`).
 */

const ENDPOINTS = 1000;

function service(): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'big', namespace: 'default', uid: 'svc-uid' },
    spec: { clusterIP: '10.96.0.10', selector: { app: 'big' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  };
}

function pod(i: number, ready: boolean): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `big-${i}`, namespace: 'default', uid: `pod-${i}`, labels: { app: 'big' } },
    spec: { nodeName: `node-${i % 20}`, containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: `10.244.${i >> 8}.${i & 255}`, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

function reconcileTasks(): BenchTask[] {
  const svc = service();
  const nodes = new Map<string, Node>(Array.from({ length: 20 }, (_, i) => [`node-${i}`, { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}`, labels: { 'topology.kubernetes.io/zone': `zone-${i % 3}` } }, spec: {} } as Node]));
  const lookup = (n: string) => nodes.get(n);
  const pods = Array.from({ length: ENDPOINTS }, (_, i) => pod(i, true));
  let n = 0;
  const generateName = (p: string) => `${p}${(n++).toString(36)}`;
  let existing: EndpointSlice[] = [];
  const changed = pods.slice();
  let lastWrites = 0;
  return [
    {
      name: `k8s/reconcile endpoints=${ENDPOINTS} from empty`,
      fn: () => {
        const ch = reconcileEndpointSlices({ service: svc, pods, existing: [], nodes: lookup, generateName });
        lastWrites = ch.create.length;
      },
      per: { unit: 'endpoint', count: ENDPOINTS },
      figures: () => ({ slicesWritten: lastWrites }),
    },
    {
      name: `k8s/reconcile endpoints=${ENDPOINTS} one pod changed`,
      beforeAll: () => {
        existing = reconcileEndpointSlices({ service: svc, pods, existing: [], nodes: lookup, generateName }).create;
      },
      fn: () => {
        // A new version of one pod, not Ready, against slices where it is Ready: one slice rewritten.
        changed[500] = pod(500, false);
        const ch = reconcileEndpointSlices({ service: svc, pods: changed, existing, nodes: lookup, generateName });
        lastWrites = ch.update.length + ch.create.length + ch.delete.length;
      },
      per: { unit: 'sync', count: 1 },
      figures: () => ({ slicesWritten: lastWrites }),
    },
  ];
}

function churnTask(quick: boolean): BenchTask {
  const services = quick ? 100 : 300;
  const duration = 10 * SECOND;
  let events = 0;
  let apiWrites = 0;
  return {
    name: `k8s/control-plane churn services=${services} endpoints=10 nodes=20 10s`,
    fn: () => {
      const sim = new Simulator({ seed: 1 });
      const cp = new ControlPlane(sim, {
        nodes: 20,
        services,
        endpointsPerService: 10,
        watchLatency: samplerOf({ kind: 'lognormal', median: 5 * MS, p99: 50 * MS }),
        apiWriteLatency: samplerOf({ kind: 'lognormal', median: 5 * MS, p99: 50 * MS }),
        podStartupLatency: samplerOf({ kind: 'lognormal', median: 2 * SECOND, p99: 10 * SECOND }),
        churn: [
          { kind: 'rolling-update', start: 0, every: 2 * SECOND, fraction: 0.02 },
          { kind: 'pod-kill', start: 0, every: SECOND, ratePerMinute: 120 },
        ],
      });
      for (const node of cp.nodes()) cp.watchEndpointSlices(`kube-proxy/${node.name}`, () => {});
      cp.start();
      sim.run(duration);
      events = sim.executed;
      apiWrites = cp.api.writes;
    },
    per: { unit: 'run', count: 1 },
    figures: () => ({ events, apiWrites }),
  };
}

/** The scale benchmark's rollout (10% of Deployments, a kube-proxy watch per node) at 1/50 of its size. */
function scaleTask(): BenchTask {
  const o = { ...FULL_SCALE, nodes: FULL_SCALE.nodes / 50, services: FULL_SCALE.services / 50 };
  let last: ScaleResult | undefined;
  return {
    name: `k8s/rollout-restart 10% nodes=${o.nodes} services=${o.services} pods=${o.services * o.endpointsPerService} until complete`,
    fn: () => {
      last = runScale(o);
    },
    per: { unit: 'run', count: 1 },
    figures: () => ({ events: last?.events ?? 0, apiWrites: last?.apiWrites ?? 0, sliceWrites: last?.sliceWrites ?? 0, watchDeliveries: last?.watchDeliveries ?? 0, simulatedS: last?.simulatedS ?? 0 }),
  };
}

/**
 * Issue 23's pod-churn point (scenarios/pod-churn.yaml at iptables, 5% of pods killed a minute,
 * minSyncPeriod 1s, graceful) with its cluster's shape: two Services of 10 pods per node, so every
 * endpoint change reaches every node's kube-proxy, and the (changes x nodes) work grows with the
 * square of the size. The issue's 5,000 nodes take about a minute (docs/benchmarks.md); the suite runs
 * 200 nodes (quick form) and 500 (full form), 20 simulated seconds after a 5 s warm-up.
 */
function podChurnPoint(nodes: number): RunPointInput {
  const text = `
name: bench-pod-churn
question: How fast does the simulator run one pod-churn point of a large cluster?
seed: 1
replications: 1
duration: 20s
warmup: 5s
cluster:
  nodes: ${nodes}
  services: { count: ${2 * nodes}, endpointsPerService: 10 }
  clusterCIDR: 10.0.0.0/8
proxy: { mode: iptables, minSyncPeriod: 1s, syncPeriod: 30s }
traffic: { connectionsPerSecond: 500, requestsPerConnection: 1 }
churn:
  - { kind: pod-kill, fraction: 0.05, every: 1m, gracefulTermination: true }
`;
  const loaded = loadScenarioText(text, `bench/k8s.bench.ts (pod-churn nodes=${nodes})`);
  const p = loaded.points[0]!;
  return { scenario: p.scenario, point: p.params, replication: 0, seed: loaded.seed };
}

function podChurnTask(nodes: number): BenchTask {
  const input = podChurnPoint(nodes);
  let m: Record<string, number> = {};
  return {
    name: `k8s/pod-churn 5%/min nodes=${nodes} services=${2 * nodes} pods=${20 * nodes} 20s`,
    fn: () => {
      m = runPoint(input).metrics;
    },
    per: { unit: 'run', count: 1 },
    figures: () => ({
      events: m['sim.events'] ?? Number.NaN,
      endpointChanges: m['endpointChanges.count'] ?? Number.NaN,
      watchDeliveries: m['watchDelivery.count'] ?? Number.NaN,
      syncs: m['syncs.count'] ?? Number.NaN,
    }),
  };
}

const suite: BenchSuite = {
  name: 'k8s',
  // The rollout task takes about a second a run: the full form only.
  tasks: ({ quick }) => [...reconcileTasks(), churnTask(quick), ...(quick ? [] : [scaleTask()]), podChurnTask(quick ? 200 : 500)],
};
export default suite;
