/** How much the ebpf probe measures, per calibration form (calibrate/plan.ts holds one of these). */
import type { EbpfOptions } from './probe.ts';

export type EbpfPlan = Omit<EbpfOptions, 'endpointsPerService'>;

/** 100..50,000 services: the map sizes kube-proxy's modes are compared at, and beyond. */
export const FULL_EBPF: EbpfPlan = { services: [100, 1000, 5000, 10_000, 25_000, 50_000], connects: 400, warmup: 100, alternations: 3, packets: 30_000, rounds: 5 };
export const QUICK_EBPF: EbpfPlan = { services: [100, 1000, 10_000], connects: 200, warmup: 50, alternations: 1, packets: 20_000, rounds: 3 };
export const SMOKE_EBPF: EbpfPlan = { services: [50, 500], connects: 60, warmup: 20, alternations: 1, packets: 3_000, rounds: 1 };
