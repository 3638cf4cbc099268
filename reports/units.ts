import type { Better, MetricInfo, MetricUnit } from './types.ts';

/**
 * Units and "which way is better" for metrics, by declaration or by name.
 *
 * A metric name is `base.statistic` (`firstPacketLatency.p99`) or just `base`. A declaration in the
 * scenario's `metrics` (carried into summary.json) wins: first by full name, then by its longest
 * declared prefix.
 * Without one, these naming rules apply (case-insensitive where it says so):
 *
 * unit
 * - `ratio` when the last segment is `rate`, `ratio` or `fraction` (`failedConnections.rate`);
 * - `perSecond` when the name ends in `PerSecond` or `perSecond` (`connectionsPerSecond`);
 * - `ns` when the base ends in Latency, Duration, Time, Window, Lag or Delay, or contains `Ns`
 *   followed by `Per` or the end (`cpuNsPerConnection`, `syncNs`);
 * - `bytes` when the base ends in Bytes or Memory;
 * - `count` when the last segment is `count` or the base starts with `rules`, `objects`, `entries`;
 * - otherwise `none`.
 *
 * better (only a metric with a direction can regress in `svcsim compare`)
 * - `none` for a histogram bucket (`x.bucket.le_1`: samples at most 1 s, a shape, not a goal);
 * - `higher` when the name contains throughput, goodput, success, succeeded, delivered, completed
 *   or availability (case-insensitive);
 * - `lower` when it names a failure: fail, drop, refused, reset, timeout, error (`failedConnections.rate`,
 *   `conntrack.drops`, `connections.timeout`, `syncs.failed`);
 * - `none` for a count of samples (last segment `count`, e.g. `watchDelivery.count`);
 * - `lower` when it is a time (unit ns, or the base ends in Latency, Duration, Time, Window, Lag or
 *   Delay: latency, sync time, the stale-endpoint window) or CPU (`cpuPerConnection`);
 * - `none` for everything else: informational figures such as `sim.events`, `connections.total`,
 *   `kernel.rules`, `rulesVisited`, `syncs.count`, `conntrack.entries`.
 */
export function metricInfo(name: string, declared?: Record<string, MetricInfo>): Required<Pick<MetricInfo, 'unit' | 'better'>> {
  const exact = declared?.[name];
  const byPrefix = declared ? declaredPrefix(name, declared) : undefined;
  const unit = exact?.unit ?? byPrefix?.unit ?? unitByName(name);
  return { unit, better: exact?.better ?? byPrefix?.better ?? betterByName(name, unit) };
}

/**
 * The declaration of the longest dotted prefix of `name` that has one: `dns.lookupLatency.p99` takes
 * `dns.lookupLatency` (a time) before `dns` (the lookups' counts).
 */
function declaredPrefix(name: string, declared: Record<string, MetricInfo>): MetricInfo | undefined {
  for (let end = name.lastIndexOf('.'); end > 0; end = name.lastIndexOf('.', end - 1)) {
    const info = declared[name.slice(0, end)];
    if (info) return info;
  }
  return undefined;
}

export function baseName(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? name : name.slice(0, dot);
}

/** A metric whose base name ends so is a time. */
const TIME_BASE = /(latency|duration|time|window|lag|delay)$/i;

export function unitByName(name: string): MetricUnit {
  const base = baseName(name);
  const last = name.slice(name.lastIndexOf('.') + 1);
  if (/^(rate|ratio|fraction)$/i.test(last) && last !== name) return 'ratio';
  if (/perSecond$/i.test(name)) return 'perSecond';
  if (TIME_BASE.test(base) || /Ns(Per|$)/.test(base)) return 'ns';
  if (/(bytes|memory)$/i.test(base)) return 'bytes';
  if (/^count$/i.test(last) || /^(rules|objects|entries)/i.test(base)) return 'count';
  return 'none';
}

const HIGHER_IS_BETTER = /(throughput|goodput|success|succeeded|delivered|completed|availability)/i;
const FAILURE = /(fail|drop|refused|reset|timeout|error)/i;
/** `unit`: the metric's unit when declared (a declared `ns` metric is a time whatever its name). */
export function betterByName(name: string, unit: MetricUnit = unitByName(name)): Better {
  if (/\.bucket\./.test(name)) return 'none';
  if (HIGHER_IS_BETTER.test(name)) return 'higher';
  if (FAILURE.test(name)) return 'lower';
  if (/\.count$/i.test(name)) return 'none';
  if (unit === 'ns' || TIME_BASE.test(baseName(name)) || /^cpu/i.test(baseName(name))) return 'lower';
  return 'none';
}

/** How to show a quantity of a unit: divide by `divisor`, then write `suffix`. */
export interface DisplayScale {
  divisor: number;
  suffix: string;
}

const DURATION_SCALES: DisplayScale[] = [
  { divisor: 1, suffix: 'ns' },
  { divisor: 1e3, suffix: 'µs' },
  { divisor: 1e6, suffix: 'ms' },
  { divisor: 1e9, suffix: 's' },
];
const BYTE_SCALES: DisplayScale[] = [
  { divisor: 1, suffix: 'B' },
  { divisor: 1024, suffix: 'KiB' },
  { divisor: 1024 ** 2, suffix: 'MiB' },
  { divisor: 1024 ** 3, suffix: 'GiB' },
];
const PLAIN_SCALES: DisplayScale[] = [
  { divisor: 1, suffix: '' },
  { divisor: 1e3, suffix: 'k' },
  { divisor: 1e6, suffix: 'M' },
  { divisor: 1e9, suffix: 'G' },
];

/**
 * The scale that shows `magnitude` (a typical absolute value, e.g. the largest of a chart's axis)
 * with 1 to 3 digits before the point: 41250 ns -> µs. Ratios are always shown as percent.
 */
export function displayScale(unit: MetricUnit, magnitude: number): DisplayScale {
  if (unit === 'ratio') return { divisor: 0.01, suffix: '%' };
  const scales = unit === 'ns' ? DURATION_SCALES : unit === 'bytes' ? BYTE_SCALES : PLAIN_SCALES;
  let chosen = scales[0]!;
  const m = Math.abs(magnitude);
  if (!Number.isFinite(m)) return chosen;
  for (const s of scales) if (m >= s.divisor) chosen = s;
  return chosen;
}

/** Three significant digits, no exponent: 41.25 -> "41.3", 1234 -> "1234", 0.000123 -> "0.000123". */
export function significant(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'n/a' : v > 0 ? '∞' : '-∞';
  if (v === 0) return '0';
  if (Math.abs(v) >= 10 ** digits) return String(Math.round(v));
  const s = v.toPrecision(digits);
  if (s.includes('e')) return String(Number(s));
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** A value with its unit for tables: 41250 ns -> "41.3µs", 0.002 ratio -> "0.2%", NaN -> "n/a". */
export function formatValue(v: number, unit: MetricUnit): string {
  if (Number.isNaN(v)) return 'n/a';
  if (unit === 'none' || unit === 'count') {
    if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  }
  const scale = displayScale(unit, v);
  const text = significant(v / scale.divisor) + scale.suffix;
  return unit === 'perSecond' ? `${text}/s` : text;
}

const PLAIN_WORDS: Record<string, string> = { k: 'thousands', M: 'millions', G: 'billions' };

/**
 * Axis title with the unit the axis is drawn in: "firstPacketLatency.p99 (µs)", "kernel.rules
 * (thousands)" (an axis label "30" with a bare "k" in the title reads as a unit, not a multiplier).
 */
export function axisTitle(name: string, unit: MetricUnit, scale: DisplayScale): string {
  let u = scale.suffix;
  if (unit === 'perSecond') u = `${scale.suffix}/s`;
  else if (unit !== 'ratio' && unit !== 'ns' && unit !== 'bytes' && u !== '') u = PLAIN_WORDS[u] ?? u;
  return u ? `${name} (${u})` : name;
}
