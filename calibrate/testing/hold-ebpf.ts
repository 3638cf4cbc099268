/**
 * Test helper for ebpf.kernel.test.ts: opens the ebpf probe's session (bpffs mount, cgroup, BPF
 * statistics on), loads and attaches the connect4 program to the cgroup with a process in it, prints
 * its pid and paths as JSON, and waits (bounded) to be interrupted, as the probe is mid-measurement.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { NamespaceRegistry, run } from '../namespaces.ts';
import { buildProgram } from '../ebpf/probe.ts';
import { EbpfSession } from '../ebpf/session.ts';

const reg = new NamespaceRegistry();
const ns = await reg.create('ebpf-held');
const s = EbpfSession.open(reg);
const obj = await buildProgram('svc_connect4', s.scratch);
await run('bpftool', ['prog', 'loadall', obj, s.pin('connect4'), 'pinmaps', s.pin('lb-maps')]);
await run('bpftool', ['cgroup', 'attach', s.cgroup, 'connect4', 'pinned', join(s.pin('connect4'), 'svcsim_connect4')]);
const sleeper = spawn('bash', ['-c', 'echo $$ > "$0/cgroup.procs" && exec sleep 30', s.cgroup], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(`${JSON.stringify({ pid: process.pid, ns, cgroup: s.cgroup, bpffs: s.bpffs, scratch: s.scratch, sleeper: sleeper.pid })}\n`);
setTimeout(() => {
  reg.close();
  process.exit(0);
}, 30_000);
