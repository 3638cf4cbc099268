/**
 * Runs `fn` with the text it writes to stdout and stderr captured. Only text (strings) is captured:
 * node's test runner sends its own events to the same stdout as bytes, and may do so while `fn`
 * awaits, so those pass through untouched. Swallowing them loses test results without a failure.
 */
export async function captureText<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const saved = { out: process.stdout.write, err: process.stderr.write };
  let out = '';
  let err = '';
  const capture = (stream: NodeJS.WriteStream, original: typeof process.stdout.write, add: (s: string) => void) =>
    ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'string') return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      add(chunk);
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture(process.stdout, saved.out, (s) => (out += s));
  process.stderr.write = capture(process.stderr, saved.err, (s) => (err += s));
  try {
    const value = await fn();
    return { value, out, err };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}
