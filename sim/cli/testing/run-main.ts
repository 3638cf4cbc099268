import { main } from '../../cli.ts';
import { captureText } from '../../io/testing/capture-text.ts';

/** Runs `svcsim ARGS` in this process and returns its exit status and the text it printed (captureText). */
export async function runMain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  process.exitCode = undefined;
  try {
    const { value: code, out, err } = await captureText(() => main(args));
    return { code, out, err };
  } finally {
    process.exitCode = undefined;
  }
}
