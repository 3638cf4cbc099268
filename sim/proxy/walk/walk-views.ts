import { EndpointListCheck } from './endpoint-list-check.ts';
import { NodeGroups } from './node-groups.ts';
import { VersionStates } from './version-state.ts';
import type { WalkSetup } from './walk-setup.ts';

/**
 * What both rule walks (iptables-walk.ts, nftables-walk.ts) read a run through: the proxy state of
 * each timeline version, the groups of nodes that share one rule set, and the check that a node's
 * rules hold the run's own endpoint list (null when the run gives none).
 */
export interface WalkViews {
  states: VersionStates;
  groups: NodeGroups;
  lists: EndpointListCheck | null;
}

export function walkViews(setup: WalkSetup): WalkViews {
  const states = new VersionStates(setup.timeline, setup.internalLocal);
  const groups = new NodeGroups(setup.nodeNames, setup.nodeZones ?? null, setup.hints ?? 'none', states.anyLocal);
  const lists = setup.runEndpoints ? new EndpointListCheck(setup.runEndpoints, states, groups, setup.timeline.services.length) : null;
  return { states, groups, lists };
}
