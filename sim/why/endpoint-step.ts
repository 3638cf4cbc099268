import { isPodReady, type Pod } from '../k8s/objects.ts';
import { podStatusReport, statusPhrase } from '../k8s/pod-status-reason.ts';
import { checkTargetPort, declaredPortsText } from '../k8s/target-port.ts';
import { step, type PathState, type WhyInput, type WhyStep } from './types.ts';

/**
 * Step 5, the endpoint: the pod behind the address the rules chose (or the pod addressed directly),
 * whether it is Ready, and whether one of its containers declares the port the packet arrives on
 * (the same judgment as target-port.ts: containerPort is informational, so a port no container
 * declares is a break only when every container declares its ports).
 */
export function endpointStep(input: WhyInput, state: PathState): WhyStep {
  const dest = state.dnat!;
  const colon = dest.lastIndexOf(':');
  const ip = dest.slice(0, colon);
  const port = Number(dest.slice(colon + 1));
  const pod = input.manifests.pods.find((p) => p.status?.podIP === ip || (p.status?.podIPs ?? []).some((x) => x.ip === ip));
  if (!pod) return step('endpoint', 'warning', `${dest}: no pod in the manifests has this IP`, [], 'an endpoint the manifests do not describe (a hand-made EndpointSlice?) cannot be checked', { address: ip, port, pod: null });
  const ref = `${pod.metadata.namespace}/${pod.metadata.name}`;
  const status = statusPhrase(podStatusReport(pod));
  const data = { address: ip, port, pod: ref, node: pod.spec.nodeName ?? null, status, ready: isPodReady(pod), declared: declaredPortsText(pod) };
  const head = `${dest} is pod ${ref} on ${pod.spec.nodeName ?? 'no node'} (${status})`;
  if (!isPodReady(pod) && state.entry === 'pod') {
    const r = podStatusReport(pod);
    return step('endpoint', 'break', `${head}: not Ready`, r.reasons, 'make the pod Ready', data);
  }
  const check = checkTargetPort(pod, { port, targetPort: port, protocol: input.target.protocol });
  const details = [`declared container ports: ${declaredPortsText(pod)}`];
  switch (check.kind) {
    case 'resolved':
      return step('endpoint', 'ok', `${head}; container ${check.container} declares ${port}/${input.target.protocol}`, details, null, data);
    case 'nothing-declared':
      return step('endpoint', 'ok', `${head}; no container declares ports, so ${port} cannot be checked (containerPort is informational)`, details, null, data);
    case 'undeclared-warning':
      return step('endpoint', 'warning', `${head}; no container declares ${port}, though some declare none and may listen on it`, details, `declare ${port} as a containerPort, or fix the targetPort`, data);
    default:
      return step('endpoint', 'break', `${head}; no container declares ${port}/${input.target.protocol}: nothing is known to listen there (connection refused)`, details, portFix(pod, port), data);
  }
}

function portFix(pod: Pod, port: number): string {
  return `point the Service's targetPort at a port the container listens on (${declaredPortsText(pod)}), not ${port}`;
}
