// A node:test reporter that prints one JSON line: how many tests ran (passed or failed) and how many
// were skipped or todo. scripts/run-tests.mjs reads it to refuse a run in which no test ran: the
// runner's own exit status is 0 when every file is empty or every describe block is skipped.
// Not counted: suites (describe blocks), and the test node's runner reports in place of a file that
// declared no test (its name is the file's path), so an empty file does not count as a test.
export default async function* countTests(source) {
  let ran = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    if (data.details?.type === 'suite') continue;
    if (data.file !== undefined && data.name === data.file) {
      if (event.type === 'test:fail') failed++; // a file that failed to load; the exit status says so too
      continue;
    }
    if (data.skip !== undefined || data.todo !== undefined) skipped++;
    else {
      ran++;
      if (event.type === 'test:fail') failed++;
    }
  }
  yield JSON.stringify({ ran, failed, skipped }) + '\n';
}
