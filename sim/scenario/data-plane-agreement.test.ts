import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECOND } from '../engine/time.ts';
import { runModel } from '../run/run-model.ts';
import { loadScenario } from './load.ts';
import { modelConfig } from './run-point.ts';

/**
 * dataPlane rules against the formula on quickstart's points (scenarios/quickstart.yaml: 3 nodes, 10
 * endpoints per Service, a readiness flap a second so nodes run partial syncs, 200 connections a
 * second), shortened: the same connections must have the same outcome and endpoint, connection by
 * connection, and the first-packet cost statistics must agree within 1%. Variants with ClientIP
 * affinity and internalTrafficPolicy Local make the walk take the recent / set lookups and the DROP.
 */
const quickstart = loadScenario('scenarios/quickstart.yaml');

interface Connection {
  node: number;
  service: number;
  ep: number | null;
  outcome: string;
  now: number;
}

function run(mode: string, services: number, dataPlane: 'formula' | 'rules', tweak: { backend?: 'legacy' | 'nft'; affinity?: boolean; local?: boolean } = {}) {
  const p = quickstart.points.find((x) => x.params.mode === mode && x.params.services === services)!;
  const s = p.scenario;
  const cluster = { ...s.cluster, services: { ...s.cluster.services!, ...(tweak.affinity ? { sessionAffinity: 'ClientIP' as const } : {}), ...(tweak.local ? { trafficPolicy: 'Local' as const, endpointsPerService: 2 } : {}) } };
  const scenario = { ...s, duration: 8 * SECOND, cluster, proxy: { ...s.proxy, ...(tweak.backend ? { iptablesBackend: tweak.backend } : {}) }, dataPlane };
  const connections: Connection[] = [];
  const out = runModel(modelConfig({ scenario, point: p.params, replication: 0, seed: 7 }), { connection: (node, service, ep, outcome, now) => connections.push({ node, service, ep, outcome, now }) });
  return { connections, metrics: out.metrics };
}

const COUNTS = /^(connections|failedConnections|drops|affinity)\.|^sim\.events$/;

function agree(label: string, mode: string, services: number, tweak: Parameters<typeof run>[3] = {}) {
  const formula = run(mode, services, 'formula', tweak);
  const rules = run(mode, services, 'rules', tweak);
  assert.ok(formula.connections.length > 1000, `${label}: ${formula.connections.length} connections`);
  assert.deepEqual(rules.connections, formula.connections, `${label}: the same connections, endpoints and outcomes`);
  const counts = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => COUNTS.test(k)));
  assert.deepEqual(counts(rules.metrics), counts(formula.metrics), `${label}: counts by outcome and reason`);
  assert.equal(rules.metrics['dataPlane.walked'], 1, label);
  assert.equal(formula.metrics['dataPlane.walked'], undefined, `${label}: no column without dataPlane rules`);
  for (const stat of ['mean', 'p50', 'p99']) {
    const f = formula.metrics[`firstPacketLatency.${stat}`]!;
    const r = rules.metrics[`firstPacketLatency.${stat}`]!;
    assert.ok(Math.abs(r - f) <= 0.01 * f, `${label}: firstPacketLatency.${stat} ${r} (rules) vs ${f} (formula)`);
  }
  return { formula, rules };
}

test('iptables: quickstart points walked agree with the formula (both backends)', () => {
  agree('iptables nft 100', 'iptables', 100, { backend: 'nft' });
  agree('iptables legacy 1000', 'iptables', 1000, { backend: 'legacy' });
});

test('nftables: quickstart points walked agree with the formula', () => {
  agree('nftables 100', 'nftables', 100);
  agree('nftables 1000', 'nftables', 1000);
});

test('ClientIP affinity and internalTrafficPolicy Local walk to the same outcomes', () => {
  for (const mode of ['iptables', 'nftables']) {
    const a = agree(`${mode} affinity`, mode, 100, { affinity: true });
    assert.ok(a.rules.metrics['affinity.hits']! > 100, `${mode}: affinity hits ${a.rules.metrics['affinity.hits']}`);
    const l = agree(`${mode} Local`, mode, 100, { local: true });
    assert.ok(l.rules.connections.some((c) => c.outcome === 'dropped'), `${mode}: some clients have no local endpoint`);
  }
});

test('ipvs, ebpf and userspace keep the formula under dataPlane rules, and say so', () => {
  for (const mode of ['ipvs', 'ebpf', 'userspace']) {
    const formula = run(mode, 100, 'formula');
    const rules = run(mode, 100, 'rules');
    assert.deepEqual(rules.connections, formula.connections, mode);
    const { 'dataPlane.walked': walked, ...rest } = rules.metrics;
    assert.equal(walked, 0, mode);
    assert.deepEqual(rest, formula.metrics, mode);
  }
});
