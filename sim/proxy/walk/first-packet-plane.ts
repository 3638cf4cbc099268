import type { Endpoint } from '../endpoint.ts';
import type { FirstPacketCost, FirstPacketInput, ModeModel } from '../cost/mode-model.ts';

/** Where a first packet is: its node, the service port it goes to, and the node's rules (active version and sync generation). */
export interface FirstPacketAt {
  node: number;
  service: number;
  /** The timeline version of the node's last successful sync (NodeProxy.active). */
  version: number;
  /** How many times the node's rules were rewritten (NodeProxy.generation): the KUBE-SERVICES order. */
  generation: number;
  /** The endpoint the run chose (`input.chosen` of the node's list), or null when the list is empty. */
  endpoint: Endpoint | null;
}

/**
 * How a run costs a new connection's first packet (scenario field `dataPlane`): from the mode's
 * closed-form model (`formula`), or by walking the client node's rules (`rules`, rules-plane.ts).
 * Both answer in the same units from the same CostModel.
 */
export interface FirstPacketPlane {
  /** Whether first packets walk kernel rules (false: the mode has none, or the formula was asked for). */
  readonly walked: boolean;
  firstPacket(input: FirstPacketInput, at: FirstPacketAt): FirstPacketCost;
}

/** The mode's formula: what every run used before `dataPlane: rules`, and still the default. */
export function formulaPlane(mode: ModeModel): FirstPacketPlane {
  return { walked: false, firstPacket: (input) => mode.firstPacket(input) };
}
