import { isAbsolute, relative } from 'node:path';
import { writeRunOutputs } from '../../reports/write.ts';
import type { RunRecord } from '../scenario/run-records.ts';
import { studyInputFromRecords, type StudyManifest } from '../scenario/study-folder.ts';

/**
 * The one writer of a study's outputs, for `svcsim scenario` (whole or resumed) and `svcsim merge`:
 * makes runs.csv, summary.csv, timeseries.csv, summary.json, the charts and the report from a
 * manifest and its run records (sim/scenario/study-folder.ts), then prints the headline table and the
 * expectations. Returns the exit status: 0 every expectation held, 1 one failed or was not measured.
 */
export async function writeStudyOutputs(
  manifest: StudyManifest,
  records: ReadonlyMap<string, RunRecord>,
  outDir: string,
  junit: string | undefined,
  out: NodeJS.WritableStream,
): Promise<number> {
  const { input, recorded, planned } = studyInputFromRecords(manifest, records);
  const written = await writeRunOutputs(input, outDir, junit === undefined ? {} : { junit });
  const { meta } = input;
  out.write(`\n${meta.name}: ${meta.question}\n`);
  if (meta.partial) out.write(`PARTIAL: interrupted after ${recorded} of ${planned} runs; the outputs hold only those.\n`);
  out.write(`report: ${shownPath(written.reportPath)}\n\n${written.headline}\n`);
  if (written.expectations.length > 0) {
    const held = written.expectations.length - written.failedExpectations;
    out.write(`\nexpectations: ${held} of ${written.expectations.length} held\n`);
    // The message already says FAILED or NOT MEASURED, which point and by how much.
    for (const e of written.expectations) if (!e.passed) out.write(`  ${e.message}\n`);
  }
  if (written.notChecked.length > 0) {
    out.write(`not checked (they select only sweep values --quick or --set left out): ${written.notChecked.join('; ')}\n`);
  }
  return written.failedExpectations > 0 ? 1 : 0;
}

/** A path under the working directory relative to it (`out/quickstart/report.html`), others absolute. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
