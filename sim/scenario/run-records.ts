import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { InputError } from '../io/input-error.ts';
import type { RunPointResult } from './run-point-contract.ts';
import { canonicalPoint, type SweepPoint } from './sweep.ts';

/**
 * Run records: what one run returned, written to its own file the moment it finishes. A study's
 * outputs are always made from the set of records in its folder (sim/scenario/study-folder.ts), so
 * an unsharded run, a resumed run and a merge of shards are the same code reading the same files.
 *
 * A record holds the run's whole result (every metric, every time-series row, the notes) as the
 * model returned it, not a list of known metrics, so a new metric needs no change here. Numbers go
 * through JSON, whose shortest round-trip form gives back the same double; the values JSON has no
 * form for (NaN, the infinities, -0) are written as `{"$number": "NaN"}` and read back as numbers.
 *
 * Each record is written whole (sim/io/atomic-write.ts: a temporary file renamed over the target),
 * so a run killed mid-write leaves either the record or nothing, never half a record; the temporary
 * files start with a dot and are not records.
 */
export const RECORD_FORMAT = 'svcsim/run-record/v1';

export interface RunRecord {
  format: typeof RECORD_FORMAT;
  /** The run's identity: see runId. */
  id: string;
  /** Position in the study's run list (outputs are in this order). */
  index: number;
  point: SweepPoint;
  replication: number;
  seed: number;
  result: RunPointResult;
}

/**
 * A run's identity: the first 16 hex digits of SHA-256 over "svcsim/run-id/v1\n" + the point's
 * parameters (canonical JSON, sorted by name) + "\n" + the replication. Like the run's seed it does
 * not depend on the order of the sweep, on --jobs or on the machine; unlike the seed it does not
 * depend on the master seed, so the same run of two seeds has one name (the seeds are compared apart).
 */
export function runId(point: SweepPoint, replication: number): string {
  return createHash('sha256').update(`svcsim/run-id/v1\n${canonicalPoint(point)}\n${replication}`).digest('hex').slice(0, 16);
}

/** The file name of a run's record inside a records folder. */
export function recordFileName(id: string): string {
  return `run-${id}.json`;
}

const NON_FINITE_KEY = '$number';

/** JSON text with NaN, ±Infinity and -0 kept (see the file comment). */
export function stringifyExact(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'number') return v;
    if (Number.isNaN(v) || !Number.isFinite(v) || Object.is(v, -0)) return { [NON_FINITE_KEY]: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  });
}

/** Reads what stringifyExact wrote. */
export function parseExact(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === NON_FINITE_KEY) return Number((v as Record<string, string>)[NON_FINITE_KEY]);
    }
    return v;
  });
}

export function writeRunRecord(dir: string, record: RunRecord): void {
  writeFileAtomic(join(dir, recordFileName(record.id)), `${stringifyExact(record)}\n`);
}

/** Every record in `dir` (none when the folder does not exist), by run id. */
export function readRunRecords(dir: string): Map<string, RunRecord> {
  const records = new Map<string, RunRecord>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return records;
    throw e;
  }
  for (const name of names.sort()) {
    if (!/^run-[0-9a-f]{16}\.json$/.test(name)) continue;
    const record = readRunRecord(join(dir, name));
    if (recordFileName(record.id) !== name) throw new InputError(join(dir, name), `the record of run ${name.slice(4, 20)}`, `the record of run ${record.id}`);
    records.set(record.id, record);
  }
  return records;
}

function readRunRecord(file: string): RunRecord {
  let value: unknown;
  try {
    value = parseExact(readFileSync(file, 'utf8'));
  } catch {
    throw new InputError(file, `a run record (${RECORD_FORMAT}, JSON)`, 'text that is not JSON', 'delete it and run with --resume to run it again');
  }
  const r = value as Partial<RunRecord> | null;
  if (r === null || typeof r !== 'object' || r.format !== RECORD_FORMAT || typeof r.id !== 'string' || typeof r.index !== 'number' || typeof r.result !== 'object') {
    throw new InputError(file, `a run record (format ${RECORD_FORMAT})`, r && typeof r === 'object' && 'format' in r ? `format ${JSON.stringify(r.format)}` : 'other JSON');
  }
  return r as RunRecord;
}
