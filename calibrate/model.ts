/**
 * From measured points to the CostModel: least-squares fits per backend, the `costs` a scenario
 * loads (a DeepPartial<CostModel>, applied with withCosts), and the "simulated vs measured" rows
 * that compare the CostModel's formulas with the kernel at each measured size. Pure: no I/O, no
 * clock, so it is tested with synthetic points.
 */
import { IPTABLES_BACKENDS, WALK_CACHE_RULES, type CostModel, type DeepPartial, type IptablesBackend } from '../sim/cost/cost-model.ts';
import { iptablesModel } from '../sim/proxy/cost/iptables.ts';
import { nftablesModel } from '../sim/proxy/cost/nftables.ts';
import { fitLine, fitLinearModel, median, relativeWeights, type LinearFit, type MultiFit } from './fit.ts';
import type { ConntrackPoints, RestorePoint, UpdatePoint, VmapPoint, WalkPoint } from './probes.ts';
import { fitEbpf, type EbpfFigures } from './ebpf/fit.ts';
import { mergeEbpfPoints } from './ebpf/merge.ts';
import type { EbpfPoints } from './ebpf/probe.ts';

export const CALIBRATION_KIND = 'svcsim-calibration';
export const CALIBRATION_VERSION = 1;


export interface CalibrationPoints {
  walk: WalkPoint[];
  restore: RestorePoint[];
  update: UpdatePoint[];
  vmap: VmapPoint[];
  conntrack?: ConntrackPoints;
  /** The ebpf probe's (calibrate/ebpf/probe.ts); absent where it did not run. */
  ebpf?: EbpfPoints;
}

export interface FitRecord extends LinearFit {
  /** What was fitted: y against x (weighted by 1/y^2), and which CostModel fields the line gives. */
  x: string;
  y: string;
  gives: string[];
  /**
   * A fit with a second regressor (restore: lines x rules in the table), y = intercept + slope x +
   * second.coefficient * second.x; slopeStdErr is then the first regressor's.
   */
  second?: { x: string; coefficient: number; stdErr: number };
  /** Fitted without an intercept (intercept 0): a differential measurement, 0 at x = 0 by construction. */
  throughOrigin?: boolean;
}

export interface HostInfo {
  kernel: string;
  iptables: string;
  nft: string;
  conntrack: string;
  cpuModel: string;
  cpus: number;
  loadavgStart: number[];
  loadavgEnd: number[];
}

export interface CalibrationFile {
  kind: typeof CALIBRATION_KIND;
  version: number;
  measuredAt: string;
  quick: boolean;
  /** Endpoints per service in the measured rule sets (the restore prediction needs it). */
  endpointsPerService: number;
  /** The command that produced this file. */
  command: string;
  host: HostInfo;
  /** Load with withCosts(DEFAULT_COSTS, file.costs) (scenario: `costs: { calibration: FILE }`). */
  costs: DeepPartial<CostModel>;
  fits: Record<string, FitRecord>;
  /** Conntrack figures derived from the CPU-time bursts, ns per packet (may be negative: noise). */
  conntrack?: { lookupNs: number; insertNs: number };
  /** The ebpf figures (calibrate/ebpf/fit.ts), per map size and fitted. */
  ebpf?: EbpfFigures;
  warnings: string[];
  points: CalibrationPoints;
}

/**
 * Every fit weighs points by 1/y^2 (least squares of the relative error): the sizes span two
 * decades, the 25% target is relative, and the measurement noise grows with the figure (a walk's
 * noise is the latency noise over the repeat count, which shrinks as k grows).
 */
function fit(xs: number[], ys: number[], x: string, y: string, gives: string[]): FitRecord | undefined {
  if (xs.length < 2 || new Set(xs).size < 2) return undefined;
  return { ...fitLine(xs, ys, ys.every((v) => v > 0) ? relativeWeights(ys) : undefined), x, y, gives };
}

/** Rounds to 3 significant digits: the measurements carry no more. */
export function sig3(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  // Integer powers of ten on the side that keeps the result exact (877 * 1e5, not 877 / 1e-5).
  const e = Math.floor(Math.log10(Math.abs(v))) - 2;
  return e >= 0 ? Math.round(v / 10 ** e) * 10 ** e : Math.round(v * 10 ** -e) / 10 ** -e;
}

export interface FittedModel {
  costs: DeepPartial<CostModel>;
  fits: Record<string, FitRecord>;
  conntrack?: CalibrationFile['conntrack'];
  ebpf?: EbpfFigures;
  warnings: string[];
}

/**
 * A load whose every line costs more the larger the table: ns = base + lines x (perLine + size x
 * perLinePerSize), fitted by relative error on lines and lines x size. With fewer than 4 distinct
 * sizes (3 unknowns and no degree of freedom left) the second term is not fitted and the straight
 * line is. `gives` names the three fields (the third only when fitted).
 */
function fitGrowingLoad(ps: { lines: number; size: number; ns: number }[], x: string, y: string, size: string, gives: [string, string, string]): FitRecord | undefined {
  const ys = ps.map((p) => p.ns);
  if (new Set(ps.map((p) => p.lines)).size < 4) return fit(ps.map((p) => p.lines), ys, x, y, gives.slice(0, 2));
  const m = fitLinearModel(ps.map((p) => [p.lines, p.lines * p.size]), ys, ys.every((v) => v > 0) ? relativeWeights(ys) : undefined);
  return multiFitRecord(m, x, y, gives, `input lines x ${size}`);
}

/** A two- or one-regressor fit as a FitRecord: its first coefficient is the slope, a second one `second`. */
function multiFitRecord(m: MultiFit, x: string, y: string, gives: string[], secondX?: string): FitRecord {
  return {
    intercept: m.intercept,
    slope: m.coefficients[0]!,
    r2: m.r2,
    residuals: m.residuals,
    slopeStdErr: m.stdErrs[0]!,
    n: m.n,
    x,
    y,
    gives,
    ...(secondX === undefined ? {} : { second: { x: secondX, coefficient: m.coefficients[1]!, stdErr: m.stdErrs[1]! } }),
  };
}

/**
 * The restore-time model of the CostModel (sim/proxy/cost/iptables.ts): ns = restoreBaseNs +
 * lines x (restoreNsPerLine + rules x restoreNsPerLinePerRule), rules being the table's size.
 */
function fitRestore(rs: RestorePoint[], b: IptablesBackend): FitRecord | undefined {
  const ps = rs.map((p) => ({ lines: p.lines, size: p.rules, ns: p.ns }));
  return fitGrowingLoad(ps, 'iptables-restore input lines', 'ns per iptables-restore', 'rules in the table', [`restoreBaseNs.${b}`, `restoreNsPerLine.${b}`, `restoreNsPerLinePerRule.${b}`]);
}

/**
 * The nft -f model of the CostModel (sim/proxy/cost/nftables.ts), from kube-proxy's own
 * full-sync transactions into an empty table: ns = nftTransactionBaseNs + lines x (nftNsPerLine +
 * objects x nftNsPerLinePerObject), objects being the table's after the load. Points without
 * kube-proxy's transactions (no kpLoadNs) give no nft -f figures: the verdict-map layout's line mix
 * is not kube-proxy's.
 */
function fitNftTransaction(vs: VmapPoint[]): FitRecord | undefined {
  const kp = vs.filter((p) => p.kpLoadNs !== undefined && p.kpLines !== undefined && p.kpObjects !== undefined);
  if (new Set(kp.map((p) => p.kpLines)).size < 2) return undefined;
  return fitGrowingLoad(
    kp.map((p) => ({ lines: p.kpLines!, size: p.kpObjects!, ns: p.kpLoadNs! })),
    "kube-proxy's full-sync lines",
    'ns per nft -f into an empty table',
    'objects in the table',
    ['nftTransactionBaseNs', 'nftNsPerLine', 'nftNsPerLinePerObject'],
  );
}

/**
 * The walk model of the CostModel (ruleWalkNs): a walk of k rules costs k x perRuleNs, plus
 * k x perRuleLogNs x ln(k / WALK_CACHE_RULES) past WALK_CACHE_RULES rules. Fitted through the origin:
 * a walk of no rules costs nothing, in the measurement (rules minus no rules) as in the model, and an
 * intercept would let the line miss the small sizes. The long-walk term needs 3 sizes, 2 of them
 * past WALK_CACHE_RULES, and is kept only where both terms come out positive and the long-walk one
 * over twice its standard error and material; otherwise the line alone is the fit (and perRuleLogNs
 * 0 with it).
 */
function fitWalk(walk: WalkPoint[], b: IptablesBackend): FitRecord | undefined {
  const ks = walk.map((p) => p.position);
  const ys = walk.map((p) => p.walkNs);
  if (new Set(ks).size < 2 || !ys.every((v) => v > 0)) {
    // Too few sizes, or a walk measured at <= 0 (noise): the plain line, as any other fit.
    return fit(ks, ys, 'rules before the match (k)', 'ns per walk of k rules', [`perRuleNs.${b}`]);
  }
  const record = (m: MultiFit, secondX?: string): FitRecord => ({
    ...multiFitRecord(m, 'rules before the match (k)', 'ns per walk of k rules', [`perRuleNs.${b}`, `perRuleLogNs.${b}`], secondX),
    throughOrigin: true,
  });
  const w = relativeWeights(ys);
  const past = ks.filter((k) => k > WALK_CACHE_RULES).length;
  if (past >= 2 && new Set(ks).size >= 3) {
    const m = fitLinearModel(ks.map((k) => [k, k * Math.log(Math.max(1, k / WALK_CACHE_RULES))]), ys, w, true);
    const [a, c] = m.coefficients as [number, number];
    // Material too: at the longest walk the term adds at least 1% to the per-rule cost.
    const material = c * Math.log(Math.max(...ks) / WALK_CACHE_RULES) >= 0.01 * a;
    if (a > 0 && c > 0 && c > 2 * m.stdErrs[1]! && material) {
      return record(m, `k x ln(k / ${WALK_CACHE_RULES}), past ${WALK_CACHE_RULES} rules`);
    }
  }
  return record(fitLinearModel(ks.map((k) => [k]), ys, w, true));
}

export function fitCostModel(points: CalibrationPoints): FittedModel {
  const fits: Record<string, FitRecord> = {};
  const costs: DeepPartial<CostModel> = {};
  const checks = new FigureChecks();
  fitIptables(points, fits, costs, checks);
  fitNftables(points, fits, costs, checks);
  const fv = fit(points.vmap.map((p) => p.services), points.vmap.map((p) => p.p10Ns), 'services in the verdict map', 'connect latency p10, ns', []);
  if (fv) fits.vmapConnect = fv;
  const conntrack = fitConntrack(points.conntrack, costs, checks);
  const ebpf = fitEbpf(points.ebpf);
  Object.assign(costs, ebpf.costs);
  checks.warnings.push(...ebpf.warnings);
  return { costs, fits, conntrack, ...(points.ebpf ? { ebpf: ebpf.figures } : {}), warnings: checks.warnings };
}

/** Turns fitted figures into `costs` values, saying in `warnings` what it leaves out or clamps. */
class FigureChecks {
  readonly warnings: string[] = [];

  /**
   * A negative cost is noise, not a cost: it is left out of `costs` (the default stays in force
   * where the file is loaded) and said so.
   */
  positive(name: string, v: number): number | undefined {
    if (v > 0) return sig3(v);
    this.warnings.push(`${name} fitted ${v.toPrecision(3)} <= 0 (noise larger than the effect): not written, the default stays`);
    return undefined;
  }

  /** A fixed cost (an intercept) may be 0; below, it is written as 0. */
  nonNegative(name: string, v: number): number {
    if (v < 0) this.warnings.push(`${name} fitted ${v.toPrecision(3)} < 0: written as 0`);
    return sig3(Math.max(0, v));
  }

  put(into: Partial<Record<IptablesBackend, number>>, b: IptablesBackend, name: string, v: number): void {
    const p = this.positive(name, v);
    if (p !== undefined) into[b] = p;
  }

  weak(name: string, f: FitRecord): void {
    if (!(f.r2 >= 0.9)) this.warnings.push(`${name}: R^2 = ${f.r2.toFixed(3)}: the points scatter about the line; treat the figure as rough`);
  }
}

/** Per iptables backend: the walk, iptables-restore and single-update fits, and the costs they give. */
function fitIptables(points: CalibrationPoints, fits: Record<string, FitRecord>, costs: DeepPartial<CostModel>, checks: FigureChecks): void {
  const perRuleNs: Partial<Record<IptablesBackend, number>> = {};
  const perRuleLogNs: Partial<Record<IptablesBackend, number>> = {};
  const restoreBaseNs: Partial<Record<IptablesBackend, number>> = {};
  const restoreNsPerLine: Partial<Record<IptablesBackend, number>> = {};
  const restoreNsPerLinePerRule: Partial<Record<IptablesBackend, number>> = {};
  const singleUpdateNsPerRule: Partial<Record<IptablesBackend, number>> = {};
  const singleUpdateBaseNs: Partial<Record<IptablesBackend, number>> = {};
  for (const b of IPTABLES_BACKENDS) {
    const walk = points.walk.filter((p) => p.backend === b);
    const fw = fitWalk(walk, b);
    if (fw) {
      fits[`walk.${b}`] = fw;
      checks.put(perRuleNs, b, `perRuleNs.${b}`, fw.slope);
      if (fw.throughOrigin) perRuleLogNs[b] = fw.second ? sig3(fw.second.coefficient) : 0;
      checks.weak(`walk.${b}`, fw);
    }
    const rs = points.restore.filter((p) => p.backend === b);
    const fr = rs.length >= 2 ? fitRestore(rs, b) : undefined;
    if (fr) {
      fits[`restore.${b}`] = fr;
      restoreBaseNs[b] = checks.nonNegative(`restoreBaseNs.${b}`, fr.intercept);
      checks.put(restoreNsPerLine, b, `restoreNsPerLine.${b}`, fr.slope);
      // Without the second term the line stands alone: 0, not the default, goes with it.
      restoreNsPerLinePerRule[b] = fr.second ? checks.nonNegative(`restoreNsPerLinePerRule.${b}`, fr.second.coefficient) : 0;
      checks.weak(`restore.${b}`, fr);
    }
    const up = points.update.filter((p) => p.backend === b);
    const fu = fit(up.map((p) => p.rules), up.map((p) => p.ns), 'rules in the nat table', `ns per iptables-${b} -A`, [`singleUpdateBaseNs.${b}`, `singleUpdateNsPerRule.${b}`]);
    if (fu) {
      fits[`singleUpdate.${b}`] = fu;
      // The intercept: one iptables process on an empty table (what the userspace proxy pays per command).
      singleUpdateBaseNs[b] = checks.nonNegative(`singleUpdateBaseNs.${b}`, fu.intercept);
      checks.put(singleUpdateNsPerRule, b, `singleUpdateNsPerRule.${b}`, fu.slope);
    }
  }
  if (Object.keys(perRuleNs).length) costs.perRuleNs = perRuleNs;
  if (Object.keys(perRuleLogNs).length) costs.perRuleLogNs = perRuleLogNs;
  if (Object.keys(restoreBaseNs).length) costs.restoreBaseNs = restoreBaseNs;
  if (Object.keys(restoreNsPerLine).length) costs.restoreNsPerLine = restoreNsPerLine;
  if (Object.keys(restoreNsPerLinePerRule).length) costs.restoreNsPerLinePerRule = restoreNsPerLinePerRule;
  if (Object.keys(singleUpdateNsPerRule).length) costs.singleUpdateNsPerRule = singleUpdateNsPerRule;
  if (Object.keys(singleUpdateBaseNs).length) costs.singleUpdateBaseNs = singleUpdateBaseNs;
  // iptables-nft rules are nf_tables rules evaluated by nft_do_chain, one after another: the walk
  // cost measured through the nft backend is the cost of one plain nftables rule.
  if (perRuleNs.nft !== undefined) costs.nftRuleNs = perRuleNs.nft;
}

/** kube-proxy's nft -f transactions: into an empty table (nftTransaction), then partial syncs into the loaded one (nftUpdate). */
function fitNftables(points: CalibrationPoints, fits: Record<string, FitRecord>, costs: DeepPartial<CostModel>, checks: FigureChecks): void {
  const fl = fitNftTransaction(points.vmap);
  if (!fl) return;
  fits.nftTransaction = fl;
  costs.nftTransactionBaseNs = checks.nonNegative('nftTransactionBaseNs', fl.intercept);
  const perLine = checks.positive('nftNsPerLine', fl.slope);
  if (perLine !== undefined) costs.nftNsPerLine = perLine;
  costs.nftNsPerLinePerObject = fl.second ? checks.nonNegative('nftNsPerLinePerObject', fl.second.coefficient) : 0;
  checks.weak('nftTransaction', fl);
  // kube-proxy's partial syncs into the loaded table, less what the transaction fit charges for
  // their lines: what a transaction into an existing table pays to read it, fixed and per object.
  const ups = points.vmap.filter((p) => p.kpPartialNs !== undefined && p.kpPartialLines !== undefined && p.kpObjects !== undefined);
  const lineNs = (p: VmapPoint) => fl.intercept + p.kpPartialLines! * (fl.slope + p.kpObjects! * (fl.second?.coefficient ?? 0));
  const fu = fit(ups.map((p) => p.kpObjects!), ups.map((p) => p.kpPartialNs! - lineNs(p)), 'objects in the table', "ns per kube-proxy partial sync (nft -f) beyond nftTransaction's charge for its lines", ['nftTableFetchNs', 'nftNsPerTableObject']);
  if (fu) {
    fits.nftUpdate = fu;
    costs.nftTableFetchNs = checks.nonNegative('nftTableFetchNs', fu.intercept);
    const perObject = checks.positive('nftNsPerTableObject', fu.slope);
    if (perObject !== undefined) costs.nftNsPerTableObject = perObject;
    checks.weak('nftUpdate', fu);
  }
}

/** Conntrack's lookup and insert costs from the CPU-time bursts; undefined when the points hold no usable bursts. */
function fitConntrack(ct: ConntrackPoints | undefined, costs: DeepPartial<CostModel>, checks: FigureChecks): CalibrationFile['conntrack'] {
  // Both differences must hold conntrack alone: points without the untracked new-flow burst, or
  // whose namespaces did not walk the same filter rule, give no conntrack figures.
  if (!(ct?.filterBalanced && ct.sameFlowNs.length && ct.newFlowNs.length && ct.untrackedNs.length && ct.untrackedNewFlowNs?.length)) return undefined;
  // One flow on loopback: one lookup (output) per packet; the input pass finds the entry attached,
  // as the packet-level node model charges it (sim/host/node.ts track()).
  const lookupNs = median(ct.sameFlowNs) - median(ct.untrackedNs);
  // A new flow per packet: the output pass looks up, misses, allocates and NATs an entry, and
  // confirms it; the untracked new-flow burst takes away what new destinations cost without
  // conntrack. The node model charges such a packet a lookup and then the insert (confirm()).
  const insertNs = median(ct.newFlowNs) - median(ct.untrackedNewFlowNs) - lookupNs;
  const l = checks.positive('conntrackLookupNs', lookupNs);
  if (l !== undefined) costs.conntrackLookupNs = l;
  const ins = checks.positive('conntrackInsertNs', insertNs);
  if (ins !== undefined) costs.conntrackInsertNs = ins;
  return { lookupNs, insertNs };
}

export interface SimulatedVsMeasured {
  /** nft-full: kube-proxy's cold full sync in nftables mode (backend 'nft'); nft-partial: its partial sync. */
  quantity: 'walk' | 'restore' | 'nft-full' | 'nft-partial';
  backend: IptablesBackend;
  services: number;
  measuredNs: number;
  /** The simulator's prediction with the given cost model (the defaults, or the calibrated costs). */
  simulatedNs: number;
  /** (simulated - measured) / measured. */
  relError: number;
}

/**
 * What the simulator itself predicts at the measured sizes, through the mode models
 * (sim/proxy/cost/) that scenario runs charge, not through a formula of its own:
 *  - walk: the first-packet cost with the service's rule at position k minus at position 0 (the
 *    model charges ruleWalkNs for each hook's walk, nat PREROUTING's taking in KUBE-SERVICES's
 *    rules before the match);
 *  - restore: a full sync of N services with `endpointsPerService` endpoints each (the model counts
 *    kube-proxy's lines per sync and the rules in the table, and charges restoreBaseNs + lines *
 *    (restoreNsPerLine + rules * restoreNsPerLinePerRule));
 *  - nft-full / nft-partial: the nftables mode model's cold full sync and one-endpoint partial sync
 *    (predictedNftSyncNs) against kube-proxy's transactions timed by the vmap probe.
 */
export function simulatedVsMeasured(points: CalibrationPoints, model: CostModel, endpointsPerService: number, range: [number, number] = [100, 10_000]): SimulatedVsMeasured[] {
  const rows: SimulatedVsMeasured[] = [];
  const inRange = (n: number) => n >= range[0] && n <= range[1];
  const row = (quantity: SimulatedVsMeasured['quantity'], backend: IptablesBackend, services: number, measuredNs: number, simulatedNs: number) =>
    rows.push({ quantity, backend, services, measuredNs, simulatedNs, relError: (simulatedNs - measuredNs) / measuredNs });
  for (const p of points.walk.filter((w) => inRange(w.position))) {
    row('walk', p.backend, p.position, p.walkNs, predictedWalkNs(model, p.backend, p.position));
  }
  for (const p of points.restore.filter((r) => inRange(r.services))) {
    row('restore', p.backend, p.services, p.ns, predictedRestoreNs(model, p.backend, p.services, endpointsPerService));
  }
  for (const p of points.vmap.filter((v) => inRange(v.services))) {
    if (p.kpLoadNs !== undefined) row('nft-full', 'nft', p.services, p.kpLoadNs, predictedNftSyncNs(model, p.services, endpointsPerService, true));
    if (p.kpPartialNs !== undefined) row('nft-partial', 'nft', p.services, p.kpPartialNs, predictedNftSyncNs(model, p.services, endpointsPerService, false));
  }
  return rows;
}

/**
 * The nftables mode model's duration of kube-proxy's sync of N services: the cold full sync (into
 * an empty table), or the partial sync that takes one endpoint from one service (the probe's).
 */
export function predictedNftSyncNs(model: CostModel, services: number, endpointsPerService: number, full: boolean): number {
  const m = nftablesModel({ costs: model, iptablesBackend: 'nft' });
  const endpoints = services * endpointsPerService;
  if (full) return m.syncCost({ full: true, startup: true, services, servicesWithoutEndpoints: 0, endpoints, changed: [] }).durationNs;
  return m.syncCost({ full: false, services, servicesWithoutEndpoints: 0, endpoints: endpoints - 1, changed: [{ before: endpointsPerService, after: endpointsPerService - 1 }] }).durationNs;
}

/** The iptables mode model's extra first-packet cost of k KUBE-SERVICES rules before the match. */
export function predictedWalkNs(model: CostModel, backend: IptablesBackend, k: number): number {
  const m = iptablesModel({ costs: model, iptablesBackend: backend });
  const at = (position: number) => m.firstPacket({ services: k + 1, servicesWithoutEndpoints: 0, position, endpoints: 1, chosen: 0 }).costNs;
  return at(k) - at(0);
}

/** The iptables mode model's duration of a full sync (one iptables-restore) of N services. */
export function predictedRestoreNs(model: CostModel, backend: IptablesBackend, services: number, endpointsPerService: number): number {
  const m = iptablesModel({ costs: model, iptablesBackend: backend });
  return m.syncCost({ full: true, services, servicesWithoutEndpoints: 0, endpoints: services * endpointsPerService, changed: [] }).durationNs;
}

export function worstError(rows: SimulatedVsMeasured[]): SimulatedVsMeasured | undefined {
  return rows.reduce<SimulatedVsMeasured | undefined>((w, r) => (!w || Math.abs(r.relError) > Math.abs(w.relError) ? r : w), undefined);
}

/**
 * Several calibration runs' points as one: each measured size's figures are the median over the runs
 * that measured it (on a shared machine a single run's point can be off by tens of percent; the
 * median of a few runs is what the fits should see). Conntrack bursts are pooled, since their fit
 * takes medians itself. Points keep the first run's fields that are not measurements (repeat counts).
 */
export function mergePoints(runs: CalibrationPoints[]): CalibrationPoints {
  if (runs.length === 1) return runs[0]!;
  const byKey = <T>(list: (r: CalibrationPoints) => T[], key: (p: T) => string, measured: (keyof T)[]): T[] => {
    const groups = new Map<string, T[]>();
    for (const r of runs) for (const p of list(r)) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
    return [...groups.values()].map((g) => {
      // The first run's fields, and those only later runs recorded (newer probes' extra fields).
      const out: T = Object.assign({}, ...[...g].reverse());
      for (const f of measured) {
        // A measurement only some runs made is the median of those runs.
        const vs = g.map((p) => p[f]).filter((v): v is T[keyof T] & number => typeof v === 'number');
        if (vs.length) (out as Record<keyof T, unknown>)[f] = median(vs);
      }
      return out;
    });
  };
  const merged: CalibrationPoints = {
    restore: byKey((r) => r.restore, (p) => `${p.backend} ${p.services}`, ['ns', 'wallNs']),
    update: byKey((r) => r.update, (p) => `${p.backend} ${p.services}`, ['ns', 'wallNs']),
    walk: byKey((r) => r.walk, (p) => `${p.backend} ${p.position}`, ['walkNs', 'withRulesNs', 'withoutRulesNs', 'p50Ns']),
    vmap: byKey((r) => r.vmap, (p) => String(p.services), ['loadNs', 'loadWallNs', 'p10Ns', 'p50Ns', 'p99Ns', 'cpuNs', 'kpLoadNs', 'kpPartialNs']),
  };
  const all = runs.map((r) => r.conntrack).filter((c): c is ConntrackPoints => c !== undefined);
  // Runs of the filter-balanced probe, where there are any, stand alone: older bursts measured more
  // than conntrack and would bias the pool.
  const balanced = all.filter((c) => c.filterBalanced);
  const cts = balanced.length ? balanced : all;
  if (cts.length) {
    merged.conntrack = {
      packets: cts[0]!.packets,
      sameFlowNs: cts.flatMap((c) => c.sameFlowNs),
      newFlowNs: cts.flatMap((c) => c.newFlowNs),
      untrackedNs: cts.flatMap((c) => c.untrackedNs),
      untrackedNewFlowNs: cts.flatMap((c) => c.untrackedNewFlowNs ?? []),
    };
    if (balanced.length) merged.conntrack.filterBalanced = true;
  }
  const ebpf = mergeEbpfPoints(runs.map((r) => r.ebpf));
  if (ebpf) merged.ebpf = ebpf;
  // walk connects: all runs' connects together
  for (const w of merged.walk) w.connects = runs.reduce((s, r) => s + (r.walk.find((x) => x.backend === w.backend && x.position === w.position)?.connects ?? 0), 0);
  return merged;
}
