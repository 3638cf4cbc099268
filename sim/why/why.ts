import { dnsStep } from './dns-step.ts';
import { endpointStep } from './endpoint-step.ts';
import { rulesStep } from './rules-step.ts';
import { serviceStep } from './service-step.ts';
import { slicesStep } from './slices-step.ts';
import { skipped, type PathState, type WhyInput, type WhyReport, type WhyStep } from './types.ts';
import { verdictOf } from './verdict.ts';

/**
 * Walks the path in the order an operator checks it. A step that breaks does not stop the walk when
 * the next steps still have something to check (a failed lookup still names the Service the name
 * means; a Service without endpoints still has rules, which REJECT), so one run shows every problem;
 * the verdict is the first break.
 */
export function runWhy(input: WhyInput): WhyReport {
  const state: PathState = { address: null, upstream: false, service: null, servicePort: null, entry: null, dnat: null };
  const steps: WhyStep[] = [dnsStep(input, state)];
  if (state.address === null) {
    steps.push(skipped('service', 'no address to look for'), skipped('endpointslices', 'no Service'), skipped('rules', 'no address to send to'), skipped('endpoint', 'no endpoint'));
  } else {
    steps.push(serviceStep(input, state));
    steps.push(...afterService(input, state));
  }
  const { client, target } = input;
  return {
    from: client.ref,
    to: target.url,
    mode: input.mode,
    client: { kind: client.kind, node: client.node, sourceIP: client.sourceIP, hostNetwork: client.hostNetwork },
    steps,
    verdict: verdictOf(steps, state, client.ref, target.host),
  };
}

function afterService(input: WhyInput, state: PathState): WhyStep[] {
  if (state.entry === 'pod') return [skipped('endpointslices', 'no Service: the pod is addressed directly'), rulesStep(input, state), ...endpointIfRouted(input, state)];
  if (state.servicePort === null) {
    const why = state.service ? 'the Service has no such port' : 'no Service';
    return [skipped('endpointslices', why), skipped('rules', why), skipped('endpoint', why)];
  }
  return [slicesStep(input, state), rulesStep(input, state), ...endpointIfRouted(input, state)];
}

function endpointIfRouted(input: WhyInput, state: PathState): WhyStep[] {
  if (state.dnat === null) return [skipped('endpoint', 'the rules chose no endpoint')];
  return [endpointStep(input, state)];
}
