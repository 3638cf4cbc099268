import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import type { ClusterManifests } from '../k8s/manifests.ts';
import type { Node } from '../k8s/objects.ts';
import { podStatusReport, statusPhrase } from '../k8s/pod-status-reason.ts';
import { tryParseIPv4 } from '../net/ipv4.ts';
import type { Client } from './types.ts';

const EXPECTED = 'NAMESPACE/POD naming a running Pod, or node/NAME for a node\'s host network';

/** The node's InternalIP, as kubelet reports it in status.addresses. */
export function nodeInternalIP(node: Node | undefined): string | null {
  return node?.status?.addresses?.find((a) => a.type === 'InternalIP' && tryParseIPv4(a.address) !== undefined)?.address ?? null;
}

/**
 * Reads --from. A pod must be running where its packets can start: scheduled (spec.nodeName) with
 * an IP. A hostNetwork pod sends from its node's address, as node/NAME does.
 */
export function resolveClient(m: ClusterManifests, ref: string): Client {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1 || ref.indexOf('/', slash + 1) >= 0) throw new InputError('--from', EXPECTED, quoteInput(ref));
  const ns = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  if (ns === 'node') return nodeClient(m, ref, name);
  const pod = m.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name);
  if (!pod) {
    const known = m.pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    throw new InputError('--from', EXPECTED, quoteInput(ref), known.length ? `Pods: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}` : 'the manifests hold no Pod');
  }
  const nodeName = pod.spec.nodeName;
  const podIP = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
  if (nodeName === undefined || podIP === undefined) {
    const r = podStatusReport(pod);
    throw new InputError('--from', 'a running client Pod (spec.nodeName and status.podIP set)', `${ref}, ${statusPhrase(r)}`, r.reasons.join('; ') || undefined);
  }
  const node = m.nodes.find((n) => n.metadata.name === nodeName);
  const nodeIP = nodeInternalIP(node);
  const hostNetwork = pod.spec.hostNetwork === true;
  return { ref, kind: 'pod', pod, node: nodeName, nodeIP, sourceIP: hostNetwork ? (nodeIP ?? podIP) : podIP, hostNetwork, namespace: ns };
}

function nodeClient(m: ClusterManifests, ref: string, name: string): Client {
  const node = m.nodes.find((n) => n.metadata.name === name);
  if (!node) {
    const names = m.nodes.map((n) => n.metadata.name);
    throw new InputError('--from', `node/NAME naming a Node in the manifests${names.length ? ` (${names.slice(0, 10).join(', ')})` : ''}`, quoteInput(ref), names.length ? undefined : 'the manifests hold no Node');
  }
  const ip = nodeInternalIP(node);
  if (ip === null) throw new InputError(`Node ${name} status.addresses`, 'an InternalIP address (the source of host-network traffic)', 'none');
  return { ref, kind: 'node', pod: null, node: name, nodeIP: ip, sourceIP: ip, hostNetwork: true, namespace: 'default' };
}
