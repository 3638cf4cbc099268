import { main } from '../../cli.ts';

/**
 * Runs `svcsim ARGS` in this process and returns its exit status and what it printed. Only text
 * (strings) is captured: node's test runner sends its own events to the same stdout as bytes, and
 * it may do so while main() awaits the subcommand's module, so those pass through untouched.
 */
export async function runMain(args: string[]): Promise<{ code: number; out: string; err: string }> {
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
  process.exitCode = undefined;
  try {
    return { code: await main(args), out, err };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = undefined;
  }
}
