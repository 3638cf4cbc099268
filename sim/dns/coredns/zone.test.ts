import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inZone, matchZone, normalName } from './zone.ts';

test('inZone: the zone itself and names below it, case-insensitive, trailing dots ignored; "." holds everything', () => {
  assert.ok(inZone('cluster.local', 'cluster.local'));
  assert.ok(inZone('web.default.svc.cluster.local', 'cluster.local.'));
  assert.ok(inZone('WEB.Default.SVC.Cluster.Local.', 'cluster.local'));
  assert.ok(!inZone('webcluster.local', 'cluster.local'));
  assert.ok(!inZone('cluster.local.example.com', 'cluster.local'));
  assert.ok(inZone('example.com', '.'));
  assert.ok(inZone('example.com', ''));
});

test('matchZone: the longest matching zone wins, -1 when none', () => {
  const zones = ['', 'cluster.local', 'svc.cluster.local'].map(normalName);
  assert.equal(matchZone('web.default.svc.cluster.local', zones), 2);
  assert.equal(matchZone('node.cluster.local', zones), 1);
  assert.equal(matchZone('example.com', zones), 0);
  assert.equal(matchZone('example.com', ['cluster.local']), -1);
});
