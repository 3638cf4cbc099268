import type { Simulator } from '../../engine/simulator.ts';
import type { ModeModel } from '../cost/mode-model.ts';
import type { EndpointTimeline } from './endpoint-timeline.ts';
import { ProxyAgent, type AgentOptions, type SyncObserver } from './proxy-agent.ts';
import { CiliumAgent } from './cilium-agent.ts';
import { UserspaceProxier } from './userspace-proxier.ts';

/**
 * What the rest of a run sees of one node's service proxy, whatever its update path: the newest
 * timeline version its watch delivered (`heard`), the version its data plane acts on (`active`),
 * and how many times that data plane was rewritten (`generation`, which reshuffles kube-proxy's
 * KUBE-SERVICES order). kube-proxy's iptables, nftables and ipvs modes update through the
 * bounded-frequency runner (ProxyAgent); the comparison modes each have their own path (CiliumAgent,
 * UserspaceProxier).
 */
export interface NodeProxy {
  readonly node: number;
  readonly heard: number;
  readonly active: number;
  readonly generation: number;
  /** The watch delivered changes up to `version`. */
  heardUpTo(version: number): void;
  /** Starts the update loop with the start-up sync. */
  startLoop(): void;
  /**
   * Reads its watch on demand from `watch` instead of being told of each delivery (optional: a proxy
   * without it gets heardUpTo at every delivery that brings something new).
   */
  pullFrom?(watch: PulledWatch): void;
}

/**
 * A node's watch read when its proxy needs it: the deliveries up to now are the same, at the same
 * instants, as those of a watch that calls heardUpTo at each one, but a node whose sync loop is busy
 * or cooling down hears them in one go when it next looks, not one simulator event each.
 */
export interface PulledWatch {
  /** Delivers everything due by now; the newest version the node's watch has delivered. */
  catchUp(node: number): number;
  /** The node waits for news: call its heardUpTo at the next delivery that brings a newer version. */
  arm(node: number): void;
}

/** The node's proxy for the mode: kube-proxy's sync loop, Cilium's per-event agent, or the userspace proxier. */
export function nodeProxy(sim: Simulator, node: number, timeline: EndpointTimeline, mode: ModeModel, options: AgentOptions, observer: SyncObserver): NodeProxy {
  switch (mode.mode) {
    case 'ebpf':
      return new CiliumAgent(sim, node, timeline, mode, observer);
    case 'userspace':
      return new UserspaceProxier(sim, node, timeline, mode, options, observer);
    default:
      return new ProxyAgent(sim, node, timeline, mode, options, observer);
  }
}
