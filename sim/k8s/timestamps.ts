import type { Nanos } from '../engine/time.ts';

/**
 * Simulated instants written the way the API writes them (metav1.Time is RFC 3339 with seconds;
 * the last-change-trigger-time annotation is RFC 3339 with nanoseconds, time.RFC3339Nano).
 * Simulated time 0 is SIM_EPOCH; the conversion is pure arithmetic (no wall clock inside sim/).
 */
export const SIM_EPOCH_UNIX_SECONDS = 1_767_225_600; // 2026-01-01T00:00:00Z

function civil(unixSeconds: number): string {
  // Howard Hinnant's days-from-civil inverse: exact for the proleptic Gregorian calendar.
  const days = Math.floor(unixSeconds / 86400);
  const sod = unixSeconds - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const hh = Math.floor(sod / 3600);
  const mm = Math.floor((sod % 3600) / 60);
  const ss = sod % 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${String(y).padStart(4, '0')}-${p2(m)}-${p2(d)}T${p2(hh)}:${p2(mm)}:${p2(ss)}`;
}

// Many objects are stamped within the same second: the last second's text is kept.
let lastSecond = NaN;
let lastText = '';

/** metav1.Time form: `2026-01-01T00:00:05Z`. */
export function formatTimestamp(t: Nanos): string {
  const s = Math.floor(t / 1e9);
  if (s !== lastSecond) {
    lastText = civil(SIM_EPOCH_UNIX_SECONDS + s) + 'Z';
    lastSecond = s;
  }
  return lastText;
}

/** time.RFC3339Nano form: fractional seconds with trailing zeros removed (`...:05.25Z`). */
export function formatTimestampNano(t: Nanos): string {
  const s = Math.floor(t / 1e9);
  const frac = t - s * 1e9;
  const f = frac === 0 ? '' : '.' + String(frac).padStart(9, '0').replace(/0+$/, '');
  return civil(SIM_EPOCH_UNIX_SECONDS + s) + f + 'Z';
}

/** Parses RFC 3339 (`2026-01-01T00:00:05Z`, optional fraction, Z or ±hh:mm) to simulated ns; NaN if malformed. */
export function parseTimestamp(text: string): Nanos {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return NaN;
  const y0 = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const y = mo <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  let secs = days * 86400 + Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
  if (m[8] !== 'Z') {
    const sign = m[8]![0] === '-' ? -1 : 1;
    secs -= sign * (Number(m[8]!.slice(1, 3)) * 3600 + Number(m[8]!.slice(4, 6)) * 60);
  }
  const frac = m[7] ? Math.round(Number('0' + m[7]) * 1e9) : 0;
  return (secs - SIM_EPOCH_UNIX_SECONDS) * 1e9 + frac;
}
