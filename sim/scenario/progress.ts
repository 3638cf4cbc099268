import cliProgress from 'cli-progress';
import { formatDuration } from '../engine/time.ts';
import type { LoadedScenario } from './load.ts';
import type { ProgressSink } from './runner.ts';
import type { RunSpec } from './sweep.ts';

/**
 * How a study shows its progress on stderr: a cli-progress bar on a terminal (runs done, simulated
 * time so far, ETA), one plain line per finished run otherwise (CI logs, pipes), where a redrawn bar
 * would be noise. CI=true forces the plain lines even on a terminal, as CI systems that fake a TTY expect.
 * Wall-clock ETA is cli-progress's own; nothing here reads a clock.
 */
export function studyProgress(study: LoadedScenario, stream: ProgressStream = process.stderr, env = process.env): ProgressSink {
  const interactive = stream.isTTY === true && !isCi(env);
  return interactive ? barProgress(study, stream as NodeJS.WriteStream) : lineProgress(study, stream);
}

export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export function isCi(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** Simulated nanoseconds of one run (the duration may be a sweep parameter, so it is per point). */
function runSimulatedNs(study: LoadedScenario, spec: RunSpec): number {
  return study.points[spec.pointIndex]!.scenario.duration;
}

function barProgress(study: LoadedScenario, stream: NodeJS.WriteStream): ProgressSink {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${study.name} [{bar}] {value}/{total} runs | {simulated} simulated | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 20,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let simulated = 0;
  return {
    start(total) {
      bar.start(total, 0, { simulated: formatDuration(0) });
    },
    runDone(done, spec) {
      simulated += runSimulatedNs(study, spec);
      bar.update(done, { simulated: formatDuration(simulated) });
    },
    stop() {
      bar.stop();
    },
  };
}

function lineProgress(study: LoadedScenario, stream: ProgressStream): ProgressSink {
  let total = 0;
  let simulated = 0;
  return {
    start(n) {
      total = n;
    },
    runDone(done, spec) {
      simulated += runSimulatedNs(study, spec);
      const point = Object.entries(spec.point)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
      stream.write(`${study.name}: run ${done}/${total} done (${point ? `${point} ` : ''}replication ${spec.replication}), ${formatDuration(simulated)} simulated\n`);
    },
    stop() {},
  };
}
