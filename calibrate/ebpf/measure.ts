/**
 * calibrate's hook for the ebpf probe: runs it when the plan asks and the host can, otherwise says
 * why not in the log and measures the rest (the ebpf fields keep their defaults).
 */
import type { NamespaceRegistry } from '../namespaces.ts';
import type { CalibrationPlan } from '../plan.ts';
import { ebpfMissing } from './preflight.ts';
import { measureEbpf, type EbpfPoints } from './probe.ts';

export async function measureEbpfIfPossible(reg: NamespaceRegistry, plan: CalibrationPlan, log: (s: string) => void): Promise<EbpfPoints | undefined> {
  if (!plan.ebpf) return undefined;
  const missing = ebpfMissing();
  if (missing.length) {
    log(`ebpf: not measured (the ebpf fields keep their defaults); missing: ${missing.join('; ')}`);
    return undefined;
  }
  return measureEbpf(reg, { ...plan.ebpf, endpointsPerService: plan.endpointsPerService }, log);
}
