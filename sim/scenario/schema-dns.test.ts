import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../io/input-error.ts';
import { loadScenarioText } from './load.ts';
import { modelConfig } from './run-point.ts';

/** Bad DNS settings are a user's mistake: exit 2, naming the field, before anything runs. */
const HEAD = `name: t\nquestion: q\ncluster:\n  nodes: 3\n  services: { count: 4, endpointsPerService: 2 }\n`;

function refused(extra: string, where: RegExp, what?: RegExp): void {
  assert.throws(
    () => {
      const point = loadScenarioText(HEAD + extra, 'dns.yaml').points[0]!;
      modelConfig({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 });
    },
    (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.exitCode, 2);
      assert.match(e.message, where);
      if (what) assert.match(e.message, what);
      return true;
    },
  );
}

test('an unknown resolver is refused, naming dns.resolver', () => refused('dns: { resolver: bionic }\n', /dns\.resolver|dns:.*resolver|line 6/, /glibc/));

test('an unknown or unquoted kernel version is refused, naming kernel.version', () => {
  refused('dns: {}\nkernel: { version: "3.2" }\n', /kernel\.version|line 7/, /outside that range|4\.4/);
  refused('dns: {}\nkernel: { version: 5.10 }\n', /kernel\.version|line 7/, /quote it/);
  refused('dns: {}\nkernel: { version: latest }\n', /kernel\.version|line 7/);
});

test('ndots out of 0..15 is refused, in both forms of options', () => {
  refused('dns: { options: { ndots: 16 } }\n', /ndots/, /15/);
  refused('dns: { options: { ndots: -1 } }\n', /ndots/);
  refused('dns: { options: [ndots:16] }\n', /options/, /ndots from 0 to 15/);
  refused('dns: { options: [rotate-everything] }\n', /options/, /resolv\.conf option/);
});

test('a negative cache size, a bad share mix and other wrong values are refused', () => {
  refused('dns: { coredns: { cacheSize: -1 } }\n', /cacheSize/);
  refused('dns: { coredns: { replicas: 0 } }\n', /replicas/);
  refused('dns: { coredns: { replicas: 3, autoscaler: { linear: {} } } }\n', /autoscaler/, /either replicas or autoscaler/);
  refused('dns: { names: { short: 0.5, external: 0.2 } }\n', /names/, /add up to 1/);
  refused('dns: { names: everything }\n', /names/, /mix/);
  refused('dns: { lookupsPerSecond: 0 }\n', /lookupsPerSecond/);
  refused('dns: { options: { timeout: 1500ms } }\n', /dns\.options\.timeout/, /whole seconds/);
  refused('dns: { coredns: { upstream: { loss: 2 } } }\n', /loss/);
});

test('settings the model cannot honour are refused, naming the field', () => {
  refused('proxy: { mode: ipvs }\ndns: { nodeLocalCache: true }\n', /dns\.nodeLocalCache/, /iptables and nftables/);
  refused('churn: { kind: rolling-update, target: coredns }\n', /churn\[0\]\.target/, /dns:/);
  refused('churn: { kind: pod-kill, ratePerMinute: 1, target: coredns }\n', /target/, /rolling-update/);
  refused('kernel: { version: "5.10" }\n', /kernel/, /dns:/);
});

test('good settings reach the model: options, the autoscaler, the kernel', () => {
  const config = (extra: string) => {
    const point = loadScenarioText(HEAD + extra, 'dns.yaml').points[0]!;
    return modelConfig({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 }).dns!;
  };
  const d = config('dns: { resolver: musl, options: [ndots:2, single-request-reopen, timeout:1] }\nkernel: { version: "4.19" }\n');
  assert.equal(d.resolver, 'musl');
  assert.deepEqual([d.options.ndots, d.options.timeoutNs, d.options.singleRequestReopen, d.options.attempts], [2, 1e9, true, 2]);
  assert.deepEqual(d.kernel, { major: 4, minor: 19 });
  assert.equal(config('dns: {}\n').coredns.replicas, 2);
  // 3 nodes of 4 cores: max(ceil(12/256), ceil(3/16)) = 1, raised to 2 by preventSinglePointFailure.
  assert.equal(config('dns: { coredns: { autoscaler: { linear: {} } } }\n').coredns.replicas, 2);
  assert.equal(config('dns: { coredns: { autoscaler: { linear: { nodesPerReplica: 1 } } } }\n').coredns.replicas, 3);
  assert.deepEqual(config('dns: { names: external }\n').names, { short: 0, otherNamespace: 0, fourDots: 0, external: 1, missingExternal: 0 });
  assert.equal(loadScenarioText(HEAD, 'dns.yaml').points[0]!.scenario.dns, undefined);
});
