import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ActiveVersions } from './active-versions.ts';

test('oldest and behind agree with a pass over every node', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 })), { maxLength: 60 }), (nodes, steps) => {
      const a = new ActiveVersions(nodes);
      const versions = new Array<number>(nodes).fill(0);
      let latest = 0;
      for (const [pick, advance] of steps) {
        const n = pick % nodes;
        const to = versions[n]! + advance;
        latest = Math.max(latest, to);
        a.move(versions[n]!, to);
        versions[n] = to;
        assert.equal(a.oldest, Math.min(...versions));
        assert.equal(a.behind(latest), versions.filter((v) => v < latest).length);
      }
    }),
  );
});
