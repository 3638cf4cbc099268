import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ebpfMissing, type EbpfHost } from './preflight.ts';
import { cgroup2Root } from './session.ts';

const host = (o: Partial<{ uid: number; absent: string[]; files: string[]; cgroup2: string | undefined }>): EbpfHost => ({
  uid: () => o.uid ?? 0,
  onPath: (cmd) => !(o.absent ?? []).includes(cmd),
  run: () => ({ status: 0, stderr: '' }),
  exists: (p) => (o.files ?? ['/usr/include/bpf/bpf_helpers.h', '/proc/sys/kernel/bpf_stats_enabled']).includes(p),
  cgroup2: () => ('cgroup2' in o ? o.cgroup2 : '/sys/fs/cgroup'),
});

test('a host with everything misses nothing', () => {
  assert.deepEqual(ebpfMissing(host({})), []);
});

test('each missing piece is named with how to get it', () => {
  const m = ebpfMissing(host({ uid: 1000, absent: ['clang', 'bpftool'], files: [], cgroup2: undefined }));
  assert.equal(m.length, 5);
  assert.match(m[0]!, /^root \(running as uid 1000/);
  assert.match(m[1]!, /clang, bpftool not on PATH \(apt-get install clang llvm libbpf-dev bpftool\)/);
  assert.match(m[2]!, /libbpf-dev/);
  assert.match(m[3]!, /cgroup v2/);
  assert.match(m[4]!, /bpf_stats_enabled/);
});

test('the cgroup v2 root: the unified-only mount, or the hybrid layout\'s unified one', () => {
  assert.equal(cgroup2Root('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n'), '/sys/fs/cgroup');
  assert.equal(cgroup2Root('tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n'), '/sys/fs/cgroup/unified');
  assert.equal(cgroup2Root('tmpfs /sys/fs/cgroup tmpfs rw 0 0\n'), undefined);
});
