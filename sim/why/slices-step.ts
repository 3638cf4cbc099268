import { explainService, type PodVerdict } from '../k8s/explain.ts';
import { podsSelectedBy } from '../k8s/static-endpoints.ts';
import type { Endpoint, EndpointSlice } from '../k8s/objects.ts';
import { step, type PathState, type WhyInput, type WhyStep } from './types.ts';

/**
 * Step 3, the EndpointSlices: the endpoints the controller writes for the Service (the same pass
 * `svcsim endpoints` makes, sim/k8s/static-endpoints.ts), those that carry the connection's Service
 * port, and for every selected pod left out or not ready the reason `endpoints --explain` gives
 * (sim/k8s/explain.ts, made precise from the pod's status). kube-proxy sends to the ready endpoints,
 * or, when none is ready, to the serving terminating ones (KEP-1669, pkg/proxy/topology.go
 * CategorizeEndpoints); with neither there is nothing to send to.
 */
export function slicesStep(input: WhyInput, state: PathState): WhyStep {
  const service = state.service!;
  const sp = state.servicePort!;
  const ref = `${service.metadata.namespace}/${service.metadata.name}`;
  const e = explainService(input.manifests, ref);
  const portName = sp.name ?? '';
  const carrying = e.slices.filter((s) => (s.ports ?? []).some((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')));
  const endpoints = carrying.flatMap((s) => s.endpoints.map((ep) => endpointData(s, ep, portName)));
  const ready = endpoints.filter((x) => x.ready);
  const servingTerminating = endpoints.filter((x) => !x.ready && x.serving && x.terminating);
  const selected = new Set(podsSelectedBy(service, input.manifests.pods).map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  // The selected pods that give no ready endpoint (the others are simply not this Service's).
  const problems = e.pods.filter((p) => selected.has(p.pod) && !(p.outcome === 'in' && p.ready));
  const details = [
    ...endpoints.map((x) => `endpoint ${x.address}:${x.port ?? '?'} pod ${x.pod ?? '?'} on ${x.node ?? '?'}: ready=${x.ready} serving=${x.serving} terminating=${x.terminating}`),
    ...problems.map((p) => `pod ${p.pod} (${p.status}): ${p.reasons.join('; ')}`),
  ];
  const data = { service: ref, slices: e.slices.map((s) => s.metadata.name), endpoints, pods: e.pods.map((p) => ({ pod: p.pod, outcome: p.outcome, status: p.status, reasons: p.reasons })) };
  if (ready.length > 0) return step('endpointslices', 'ok', `${ready.length} ready endpoint(s) of ${endpoints.length} for port ${portName || sp.port}`, details, null, data);
  if (servingTerminating.length > 0) {
    return step('endpointslices', 'warning', `no ready endpoint; ${servingTerminating.length} terminating endpoint(s) still serving take the traffic until they go`, details, 'make replacement pods Ready before the old ones finish terminating', data);
  }
  const cause = e.likelyCause ?? (endpoints.length > 0 ? 'no endpoint is ready' : 'no endpoint carries this port');
  return step('endpointslices', 'break', `no usable endpoint for ${ref} port ${portName || sp.port}: ${cause}`, details, fixFor(e.pods, cause), data);
}

function endpointData(s: EndpointSlice, ep: Endpoint, portName: string) {
  const port = (s.ports ?? []).find((p) => (p.name ?? '') === portName)?.port ?? null;
  const c = ep.conditions ?? {};
  return {
    address: ep.addresses[0] ?? '',
    port,
    pod: ep.targetRef?.name ? `${ep.targetRef.namespace}/${ep.targetRef.name}` : null,
    node: ep.nodeName ?? null,
    // EndpointConditions: a nil ready is read as ready (discovery/v1 types.go).
    ready: c.ready !== false,
    serving: c.serving ?? c.ready !== false,
    terminating: c.terminating === true,
  };
}

function fixFor(pods: readonly PodVerdict[], cause: string): string {
  if (cause.startsWith('selector mismatch') || cause.startsWith('no pod in namespace')) return "make the Service's selector match the pods' labels (or the labels the selector)";
  if (cause.startsWith('the Service has no selector')) return 'create the EndpointSlices yourself, or give the Service a selector';
  const status = pods.find((p) => p.outcome === 'in' || p.reasons[0]!.startsWith('no pod IP'))?.status ?? '';
  if (/CrashLoopBackOff|Error|ExitCode|Signal/.test(status)) return 'fix the crashing container (kubectl logs --previous POD shows its last run), then it passes readiness';
  if (/ImagePull|ErrImage|InvalidImage/.test(status)) return "fix the image name or tag, or the registry credentials (imagePullSecrets)";
  if (/CreateContainer/.test(status)) return 'create the Secret or ConfigMap the container refers to';
  if (/^Init:/.test(status)) return 'fix the init container that does not finish (kubectl logs POD -c INIT)';
  if (/Pending/.test(status) || cause.includes('Unschedulable')) return 'let the scheduler place the pods: free or add capacity, or relax their requests, selectors and tolerations';
  if (/Terminating/.test(status)) return 'wait for the replacements to become Ready';
  return "make the pods pass their readiness probe (kubectl describe pod shows the probe's failures)";
}
