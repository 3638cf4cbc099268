import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECOND } from '../../engine/time.ts';
import type { ServerStats } from './server.ts';
import { summariseServer } from './summary.ts';

const stats = (o: Partial<ServerStats> = {}): ServerStats => ({
  queries: 0, answered: { NOERROR: 0, NXDOMAIN: 0, SERVFAIL: 0, REFUSED: 0 }, cacheHits: { success: 0, denial: 0 }, cacheMisses: 0,
  forwarded: 0, refusedMaxConcurrent: 0, droppedQueueFull: 0, droppedStopped: 0, droppedAtExit: 0, cpuBusyNs: 0, ...o,
});

test('summary: requests exclude kernel drops and queries after exit; CPU in cores; hit ratio over lookups', () => {
  const s = summariseServer(
    stats({ queries: 1000, droppedQueueFull: 100, droppedStopped: 50, droppedAtExit: 10, answered: { NOERROR: 700, NXDOMAIN: 100, SERVFAIL: 30, REFUSED: 10 }, cacheHits: { success: 600, denial: 90 }, cacheMisses: 150, cpuBusyNs: SECOND }),
    2 * SECOND,
  );
  assert.deepEqual(s, { requestsPerSecond: 425, responsesPerSecond: 420, cpuCores: 0.5, cacheHitRatio: 690 / 840, droppedPerSecond: 80 });
  assert.equal(summariseServer(stats(), SECOND).cacheHitRatio, null);
  assert.throws(() => summariseServer(stats(), 0), /elapsedNs must be > 0/);
});
