import type { ExpectationResult } from './expectations.ts';
import { pointLabel } from './points.ts';

/**
 * JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters): one <testcase> per `expect:`
 * line, failed when the line failed or could not be measured at any point it selects; the message
 * of each point that did not hold goes into <failure>, every point's line into <system-out>.
 * Elements and attributes follow the schema those systems read (testsuites > testsuite > testcase,
 * failure with message and type). No `time` or `timestamp`: the file is deterministic like every
 * other output, and both attributes are optional.
 */

export function xmlEscape(s: string): string {
  // XML 1.0 has no way to write most control characters, even escaped: drop them.
  const clean = s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
  return clean.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

interface Case {
  index: number;
  text: string;
  results: ExpectationResult[];
}

function byLine(results: readonly ExpectationResult[]): Case[] {
  const cases = new Map<number, Case>();
  for (const r of results) {
    let c = cases.get(r.index);
    if (!c) cases.set(r.index, (c = { index: r.index, text: r.text, results: [] }));
    c.results.push(r);
  }
  return [...cases.values()].sort((a, b) => a.index - b.index);
}

export function junitXml(suiteName: string, results: readonly ExpectationResult[], names: readonly string[]): string {
  const cases = byLine(results);
  const failures = cases.filter((c) => c.results.some((r) => !r.passed)).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="svcsim" tests="${cases.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${xmlEscape(suiteName)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`,
  ];
  for (const c of cases) {
    lines.push(`    <testcase classname="svcsim.${xmlEscape(suiteName)}" name="${xmlEscape(`expect[${c.index}] ${c.text}`)}">`);
    const bad = c.results.filter((r) => !r.passed);
    if (bad.length > 0) {
      const first = bad[0]!;
      const summary =
        bad.length === 1
          ? `${first.status === 'fail' ? 'failed' : 'not measured'} at ${pointLabel(first.point, names)}`
          : `${bad.length} of ${c.results.length} points did not hold`;
      lines.push(`      <failure message="${xmlEscape(summary)}" type="${bad.some((r) => r.status === 'fail') ? 'expectation' : 'not-measured'}">`);
      lines.push(...bad.map((r) => xmlEscape(r.message)));
      lines.push('      </failure>');
    }
    lines.push('      <system-out>');
    lines.push(...c.results.map((r) => xmlEscape(r.message)));
    lines.push('      </system-out>');
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
