/**
 * `sudo npx tsx calibrate/kernel-memory.ts [--quick] [--out FILE]`: measures the kernel memory
 * that kube-proxy's tables take on this host, for the model of `kernel.memoryBytes`
 * (sim/proxy/cost/kernel-memory.ts, whose figures come from calibrate/measured/kernel-memory.json),
 * and prints the fit; `--from FILE` prints the fit of an earlier measurement, measuring nothing.
 *
 * For each backend (legacy iptables, iptables-nft, kube-proxy's nftables table) and each size, it
 * loads the rules into a fresh network namespace from a process placed in a memory cgroup of its
 * own, and reads the kernel memory charged to that cgroup after the loader exited: the loader's own
 * memory is gone by then, what stays charged is the table (x_tables and nf_tables allocate with
 * __GFP_ACCOUNT: net/netfilter/x_tables.c xt_alloc_table_info, net/netfilter/nf_tables_api.c).
 * For the legacy backend it also reads the table's blob size from the kernel (getsockopt
 * IPT_SO_GET_INFO), the figure the model computes from the entries' sizes.
 *
 * Root, network namespaces and a memory cgroup with kernel accounting are needed (cgroup v1's
 * memory.kmem.usage_in_bytes, or cgroup v2's memory.stat `kernel`); without them it says what is
 * missing and exits 2. Its namespaces and cgroups are removed on exit and on SIGINT/SIGTERM.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { release } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../sim/io/atomic-write.ts';
import { proxyStateFromObjects } from '../sim/proxy/from-api.ts';
import { nodeIptablesSave } from '../sim/proxy/iptables/node-ruleset.ts';
import { kubeProxyNftTransactions } from './kube-proxy-nft.ts';
import { median } from './fit.ts';
import { fitKernelMemory, modelBytes } from './kernel-memory-fit.ts';
import { NamespaceRegistry, run } from './namespaces.ts';
import { missingMessage, missingPrerequisites } from './preflight.ts';
import { CLUSTER_CIDR, iptablesRestoreInput } from './rulesets.ts';

export type MemoryBackend = 'legacy' | 'nft' | 'nftables';

export interface KernelMemoryPoint {
  backend: MemoryBackend;
  services: number;
  endpointsPerService: number;
  /** Median over the repeats of the kernel memory charged by the load, bytes. */
  bytes: number;
  samples: number[];
  /** Legacy only: each loaded table's blob size and entry count as the kernel reports them (IPT_SO_GET_INFO). */
  tables?: Record<string, { entries: number; blobBytes: number }>;
}

export interface KernelMemoryFile {
  kernel: string;
  cgroup: 'v1' | 'v2';
  measuredAt: string;
  command: string;
  points: KernelMemoryPoint[];
}

const FULL_GRID = { services: [100, 300, 1000, 3000], endpoints: [2, 4, 8], repeats: 3 };
const QUICK_GRID = { services: [100, 300], endpoints: [2, 4], repeats: 1 };

/** IPT_SO_GET_INFO on a raw socket (include/uapi/linux/netfilter_ipv4/ip_tables.h): struct ipt_getinfo's num_entries and size. */
const GET_INFO = `
import ctypes, socket, sys
class Info(ctypes.Structure):
    _fields_ = [('name', ctypes.c_char * 32), ('valid_hooks', ctypes.c_uint), ('hook_entry', ctypes.c_uint * 5),
                ('underflow', ctypes.c_uint * 5), ('num_entries', ctypes.c_uint), ('size', ctypes.c_uint)]
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for name in sys.argv[1:]:
    info = Info(); info.name = name.encode()
    n = ctypes.c_uint(ctypes.sizeof(info))
    if libc.getsockopt(s.fileno(), 0, 64, ctypes.byref(info), ctypes.byref(n)) != 0: sys.exit('getsockopt %s: errno %d' % (name, ctypes.get_errno()))
    print(name, info.num_entries, info.size)
`;

/** A memory cgroup of our own and how to read the kernel memory charged to it. */
interface KmemCgroup {
  version: 'v1' | 'v2';
  dir: string;
  kernelBytes(): number;
  remove(): void;
}

/**
 * A new cgroup for every sample: a namespace deleted after the last sample frees its tables later,
 * from a workqueue (net/core/net_namespace.c cleanup_net), and those frees uncharge the cgroup that
 * was charged. In one cgroup shared by every sample they landed in a later sample's window, which
 * then read as little as 2% of its repeats.
 */
const V1 = '/sys/fs/cgroup/memory';
const V2 = '/sys/fs/cgroup';
const hasV1 = () => existsSync(`${V1}/memory.kmem.usage_in_bytes`);
const hasV2 = () => existsSync(`${V2}/cgroup.subtree_control`) && readFileSync(`${V2}/cgroup.subtree_control`, 'utf8').includes('memory');

/** What the host lacks for this measurement beyond calibrate's own prerequisites, or undefined. */
export function missingKmem(): string | undefined {
  if (hasV1() || hasV2()) return undefined;
  return 'a memory cgroup with kernel memory accounting (cgroup v1 memory.kmem.usage_in_bytes, or cgroup v2 with the memory controller in /sys/fs/cgroup/cgroup.subtree_control)';
}

/** Cgroups' names start so: what a test checks is gone after a run. */
export const CGROUP_PREFIX = `svcsim-kmem-${process.pid}-`;

function makeCgroup(sample: number): KmemCgroup {
  const v1 = hasV1();
  const dir = `${v1 ? V1 : V2}/${CGROUP_PREFIX}${sample}`;
  mkdirSync(dir);
  const kernelBytes = v1
    ? () => Number(readFileSync(`${dir}/memory.kmem.usage_in_bytes`, 'utf8'))
    : () => {
        const m = /^kernel (\d+)$/m.exec(readFileSync(`${dir}/memory.stat`, 'utf8'));
        if (!m) throw new Error(`${dir}/memory.stat has no "kernel" line (kernel before 5.18?)`);
        return Number(m[1]);
      };
  return { version: v1 ? 'v1' : 'v2', dir, kernelBytes, remove: () => rmdirSync(dir) };
}

/**
 * kube-proxy's tables on a node with no Service: the fixed chains and rules of the iptables proxier
 * (filter, nat and mangle), as svcsim renders them. Less KUBE-FORWARD's `-m nfacct` rule: this
 * host's kernel has no xt_nfacct module, so the rule cannot be loaded here (on such a kernel the real
 * kube-proxy's iptables-restore fails whole); the model adds the rule's size from its structs.
 */
function kubeProxyFixedTables(): string {
  const state = proxyStateFromObjects([], [], 'calibrate');
  const save = nodeIptablesSave(state, { nodeName: 'calibrate', nodeIP: '192.168.61.1', clusterCIDR: CLUSTER_CIDR, masqueradeAll: false });
  return save
    .split('\n')
    .filter((l) => !l.includes('-m nfacct'))
    .join('\n');
}

/** Tables a legacy load fills: the fixed point loads kube-proxy's three, the others the nat table alone. */
const legacyTables = (services: number) => (services === 0 ? ['nat', 'filter', 'mangle'] : ['nat']);

function loader(backend: MemoryBackend, services: number, endpoints: number): { cmd: string[]; input: string } {
  if (backend === 'nftables') return { cmd: ['nft', '-f', '-'], input: kubeProxyNftTransactions(services, Math.max(2, endpoints), 0).full.text };
  const input = services === 0 ? kubeProxyFixedTables() : iptablesRestoreInput(services, endpoints).text;
  return { cmd: [backend === 'legacy' ? 'iptables-legacy-restore' : 'iptables-nft-restore'], input };
}

/**
 * The cgroup's charge once the loader's own memory has gone: an exiting process frees part of it
 * later (RCU callbacks, its mount namespace's teardown), so a read at once overstates the small
 * tables. Read every 100 ms until two reads agree.
 */
async function settled(cg: KmemCgroup): Promise<number> {
  let last = cg.kernelBytes();
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = cg.kernelBytes();
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** Cgroups made and not yet removed, for the cleanup on exit or signal. */
const cgroups = new Set<KmemCgroup>();
let sampleCount = 0;

function newCgroup(): KmemCgroup {
  const cg = makeCgroup(++sampleCount);
  cgroups.add(cg);
  return cg;
}

function removeCgroup(cg: KmemCgroup): void {
  // A v1 memory cgroup with no process goes even with pages still charged (they move to its parent).
  cg.remove();
  cgroups.delete(cg);
}

async function measure(reg: NamespaceRegistry, backend: MemoryBackend, services: number, endpoints: number, repeats: number): Promise<KernelMemoryPoint> {
  const { cmd, input } = loader(backend, services, endpoints);
  const samples: number[] = [];
  let tables: KernelMemoryPoint['tables'];
  for (let r = 0; r < repeats; r++) {
    const ns = await reg.create('km');
    const cg = newCgroup();
    const before = cg.kernelBytes();
    // The shell joins the cgroup, then becomes the loader: only the loader's allocations are charged there.
    await run('sh', ['-c', `echo $$ > ${cg.dir}/cgroup.procs && exec ip netns exec ${ns} "$@"`, 'sh', ...cmd], input);
    samples.push((await settled(cg)) - before);
    if (backend === 'legacy' && r === 0) {
      const out = (await reg.exec(ns, 'python3', ['-c', GET_INFO, ...legacyTables(services)])).stdout.trim().split('\n');
      tables = Object.fromEntries(out.map((l) => l.split(' ')).map(([name, entries, size]) => [name!, { entries: Number(entries), blobBytes: Number(size) }]));
    }
    reg.remove(ns);
    removeCgroup(cg);
  }
  return { backend, services, endpointsPerService: endpoints, bytes: median(samples), samples, ...(tables ? { tables } : {}) };
}

const USAGE = 'usage: sudo npx tsx calibrate/kernel-memory.ts [--quick] [--out FILE] | --from FILE';

/** The fit, and the model's figure against every measured point (sim/proxy/cost/kernel-memory.ts). */
function fitText(file: KernelMemoryFile): string {
  const fit = fitKernelMemory(file);
  const lines = [`fit (sim/proxy/cost/kernel-memory.ts's figures): ${JSON.stringify(fit)}`, 'backend  services  endpoints  measured  model  error'];
  for (const p of file.points) {
    const model = modelBytes(p);
    lines.push(`${p.backend} ${p.services} ${p.endpointsPerService} ${p.bytes} ${Math.round(model)} ${(((model - p.bytes) / p.bytes) * 100).toFixed(1)}%`);
  }
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: 'out/calibration/kernel-memory.json' }, from: { type: 'string' } },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`kernel-memory: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.from !== undefined) {
    // Fit a measurement again, measuring nothing.
    let file: KernelMemoryFile;
    try {
      file = JSON.parse(readFileSync(values.from, 'utf8')) as KernelMemoryFile;
      process.stdout.write(fitText(file));
    } catch (e) {
      process.stderr.write(`kernel-memory: ${values.from}: ${(e as Error).message}\n`);
      return 2;
    }
    return 0;
  }
  const missing = missingPrerequisites();
  const kmem = missingKmem();
  if (kmem) missing.push(kmem);
  if (missing.length) {
    process.stderr.write(`kernel-memory: ${missingMessage(missing).replace(/^calibrate: /, "")}\n`);
    return 2;
  }
  const reg = new NamespaceRegistry();
  const cleanup = () => {
    reg.removeAll();
    for (const cg of cgroups) removeCgroup(cg);
  };
  // The registry turns SIGINT/SIGTERM into an exit, so this also runs then.
  process.on('exit', cleanup);
  try {
    const grid = values.quick ? QUICK_GRID : FULL_GRID;
    const points: KernelMemoryPoint[] = [];
    for (const backend of ['legacy', 'nft', 'nftables'] as const) {
      // services 0: kube-proxy's fixed tables; then the grid of ClusterIP services.
      const sizes: [number, number][] = [[0, 0], ...grid.services.flatMap((s) => grid.endpoints.map((e): [number, number] => [s, e]))];
      for (const [s, e] of sizes) {
        const p = await measure(reg, backend, s, e, grid.repeats);
        const blobs = p.tables ? ` (blobs ${Object.entries(p.tables).map(([n, t]) => `${n} ${t.blobBytes}`).join(', ')})` : '';
        process.stderr.write(`${backend} services=${s} endpoints=${e}: ${p.bytes} bytes${blobs}\n`);
        points.push(p);
      }
    }
    const file: KernelMemoryFile = { kernel: release(), cgroup: hasV1() ? 'v1' : 'v2', measuredAt: new Date().toISOString(), command: `kernel-memory.ts ${argv.join(' ')}`.trim(), points };
    writeFileAtomic(values.out, `${JSON.stringify(file, null, 2)}\n`);
    process.stdout.write(`wrote ${values.out} (${points.length} points)\n${fitText(file)}`);
    return 0;
  } finally {
    cleanup();
    reg.close();
    process.off('exit', cleanup);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
