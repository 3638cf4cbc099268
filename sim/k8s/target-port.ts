import type { Pod, ServicePort } from './objects.ts';
import { findPort } from './pod-endpoint.ts';

/**
 * A Service port's targetPort against one pod's containers.
 *
 * A named targetPort is resolved per pod, as the EndpointSlice controller does (podutil FindPort in
 * staging/src/k8s.io/endpointslice/utils.go, our pod-endpoint.ts findPort): a pod without a container
 * port of that name and protocol gives no endpoint port, so the connection has nowhere to go.
 *
 * A numeric targetPort is used as is: the API never checks it against the containers, and
 * containerPort is informational ("Not specifying a port here DOES NOT prevent that port from being
 * exposed", core/v1 Container.ports). So the check can only be a judgment on what the pod declares:
 * - a container declares it: fine;
 * - every container declares its ports and none is this one: a break, as the application almost
 *   surely listens on a declared port (the Service says 80, the container declares 8080);
 * - some containers declare ports and others declare none: a warning (the undeclared one may listen);
 * - no container declares any port: nothing to check against.
 * Restartable init containers (sidecars) count as containers, as in FindPort.
 */
export type TargetPortCheck =
  | { kind: 'resolved'; port: number; container: string; named: boolean }
  | { kind: 'named-missing'; name: string; declared: string }
  | { kind: 'undeclared-break'; port: number; declared: string }
  | { kind: 'undeclared-warning'; port: number; declared: string }
  | { kind: 'nothing-declared'; port: number };

type Declared = { container: string; port: number; name?: string; protocol: string };

function containersOf(pod: Pod) {
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => (c as { restartPolicy?: string }).restartPolicy === 'Always');
  return [...pod.spec.containers, ...sidecars];
}

function declaredPorts(pod: Pod): Declared[] {
  const out: Declared[] = [];
  for (const c of containersOf(pod)) for (const p of c.ports ?? []) out.push({ container: c.name, port: p.containerPort, name: p.name, protocol: p.protocol ?? 'TCP' });
  return out;
}

/** "http:8080/TCP" for each declared port ("http:8080/TCP in app" when the pod has several containers), or "none declared". */
export function declaredPortsText(pod: Pod): string {
  const d = declaredPorts(pod);
  const several = containersOf(pod).length > 1;
  return d.length ? d.map((p) => `${p.name ? p.name + ':' : ''}${p.port}/${p.protocol}${several ? ` in ${p.container}` : ''}`).join(', ') : 'none declared';
}

export function checkTargetPort(pod: Pod, sp: ServicePort): TargetPortCheck {
  const tp = sp.targetPort ?? sp.port;
  const proto = sp.protocol ?? 'TCP';
  const declared = declaredPorts(pod);
  const text = declaredPortsText(pod);
  const named = typeof tp === 'string' && !/^\d+$/.test(tp);
  const port = findPort(pod, sp);
  if (named) {
    if (port === undefined) return { kind: 'named-missing', name: tp as string, declared: text };
    const owner = declared.find((d) => d.name === tp && d.protocol === proto)!;
    return { kind: 'resolved', port, container: owner.container, named: true };
  }
  const n = port!;
  const hit = declared.find((d) => d.port === n && d.protocol === proto);
  if (hit) return { kind: 'resolved', port: n, container: hit.container, named: false };
  if (declared.length === 0) return { kind: 'nothing-declared', port: n };
  const every = containersOf(pod).every((c) => (c.ports ?? []).length > 0);
  return every ? { kind: 'undeclared-break', port: n, declared: text } : { kind: 'undeclared-warning', port: n, declared: text };
}

/** One sentence for a check that is not plainly fine (undefined when it is). */
export function targetPortProblem(sp: ServicePort, c: TargetPortCheck): string | undefined {
  const label = `service port ${sp.name ? `"${sp.name}" ` : ''}${sp.port}/${sp.protocol ?? 'TCP'}`;
  switch (c.kind) {
    case 'resolved':
    case 'nothing-declared':
      return undefined;
    case 'named-missing':
      return `${label}: targetPort "${c.name}" not found among the pod's container ports (${c.declared}); this endpoint carries no such port`;
    case 'undeclared-break':
      return `${label}: targetPort ${c.port} is not a port any container declares (${c.declared}); the connection goes to ${c.port} where nothing is declared to listen`;
    case 'undeclared-warning':
      return `${label}: targetPort ${c.port} is not declared by any container (${c.declared}); a container without declared ports may still listen on it`;
  }
}
