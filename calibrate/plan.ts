/**
 * How much calibration measures. The full form covers 100..10k services (about 10 minutes on a
 * 2-core machine); --quick the same quantities at fewer, smaller sizes (about 2 minutes).
 */
import type { IptablesBackend } from '../sim/cost/cost-model.ts';
import { FULL_EBPF, QUICK_EBPF, SMOKE_EBPF, type EbpfPlan } from './ebpf/plan.ts';

export interface CalibrationPlan {
  quick: boolean;
  backends: IptablesBackend[];
  /** Endpoints per service in the generated rule sets (the kernel probe's layout used 4). */
  endpointsPerService: number;
  walk: { positions: number[]; connects: number; warmup: number; passes: number; walkTarget: number };
  restore: { services: number[]; repeats: number };
  vmap: { services: number[]; connects: number; warmup: number };
  conntrack: { packets: number; rounds: number; alternations: number } | undefined;
  /** The ebpf probe (calibrate/ebpf/); absent: not run. */
  ebpf?: EbpfPlan;
}

export const FULL_PLAN: CalibrationPlan = {
  quick: false,
  backends: ['legacy', 'nft'],
  endpointsPerService: 4,
  walk: { positions: [100, 250, 500, 1000, 2500, 5000, 10_000], connects: 400, warmup: 100, passes: 2, walkTarget: 50_000 },
  restore: { services: [100, 250, 500, 1000, 2500, 5000, 10_000], repeats: 3 },
  vmap: { services: [100, 1000, 2500, 5000], connects: 400, warmup: 100 },
  conntrack: { packets: 30_000, rounds: 5, alternations: 3 },
  ebpf: FULL_EBPF,
};

export const QUICK_PLAN: CalibrationPlan = {
  quick: true,
  backends: ['legacy', 'nft'],
  endpointsPerService: 4,
  walk: { positions: [100, 1000, 5000], connects: 200, warmup: 50, passes: 1, walkTarget: 20_000 },
  restore: { services: [100, 1000, 2500], repeats: 1 },
  vmap: { services: [100, 1000], connects: 200, warmup: 50 },
  conntrack: { packets: 20_000, rounds: 3, alternations: 1 },
  ebpf: QUICK_EBPF,
};

/**
 * The smallest plan that still exercises every probe and fit end to end: the real-kernel test's
 * (calibrate/calibrate.kernel.test.ts). Its figures are too rough to load.
 */
export const SMOKE_PLAN: CalibrationPlan = {
  quick: true,
  backends: ['legacy', 'nft'],
  endpointsPerService: 4,
  walk: { positions: [50, 500], connects: 60, warmup: 20, passes: 1, walkTarget: 5_000 },
  restore: { services: [50, 300], repeats: 1 },
  vmap: { services: [50, 300], connects: 60, warmup: 20 },
  conntrack: { packets: 3_000, rounds: 1, alternations: 1 },
  ebpf: SMOKE_EBPF,
};
