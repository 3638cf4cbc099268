import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEndpoint } from '../endpoint.ts';
import { localReadyEndpoints, serviceHealth } from './service-health.ts';

// Rules from kubernetes/kubernetes pkg/proxy/healthcheck/service_health.go (hcHandler.ServeHTTP) and
// pkg/proxy/endpoints.go (LocalReadyEndpoints / getLocalReadyEndpointIPs).

const SVC = { namespace: 'shop', name: 'web' };

test('healthCheckNodePort: 200 only with local endpoints and a healthy proxy', () => {
  const rows = [
    { local: 2, healthy: true, status: 200 },
    { local: 0, healthy: true, status: 503 },
    { local: 2, healthy: false, status: 503 },
    { local: 0, healthy: false, status: 503 },
  ];
  for (const r of rows) {
    const res = serviceHealth(SVC, r.local, r.healthy);
    assert.equal(res.status, r.status, JSON.stringify(r));
    assert.deepEqual(res.body, { service: { namespace: 'shop', name: 'web' }, localEndpoints: r.local, serviceProxyHealthy: r.healthy });
    assert.equal(res.headers['X-Load-Balancing-Endpoint-Weight'], String(r.local));
  }
});

test('local Ready endpoints: ready and local only, counted by distinct IP across ports', () => {
  const http = [
    makeEndpoint({ ip: '10.244.1.2', port: 8080, isLocal: true }),
    makeEndpoint({ ip: '10.244.1.3', port: 8080, isLocal: true, ready: false, serving: true, terminating: true }), // serving-terminating: not counted
    makeEndpoint({ ip: '10.244.1.4', port: 8080, isLocal: true, ready: false, serving: false }), // not ready
    makeEndpoint({ ip: '10.244.2.2', port: 8080, isLocal: false }), // remote
  ];
  const https = [makeEndpoint({ ip: '10.244.1.2', port: 8443, isLocal: true }), makeEndpoint({ ip: '10.244.1.5', port: 8443, isLocal: true })];
  assert.equal(localReadyEndpoints([http, https]), 2);
  assert.equal(localReadyEndpoints([]), 0);
});

test('a node left with only terminating endpoints answers 503 (KEP-1669)', () => {
  const eps = [makeEndpoint({ ip: '10.244.1.3', port: 8080, isLocal: true, ready: false, serving: true, terminating: true })];
  assert.equal(serviceHealth(SVC, localReadyEndpoints([eps]), true).status, 503);
});
