import type { ModeModel } from '../cost/mode-model.ts';
import { formulaPlane, type FirstPacketPlane } from './first-packet-plane.ts';
import { IptablesRulesWalk } from './iptables-walk.ts';
import { NftablesRulesWalk } from './nftables-walk.ts';
import type { WalkSetup } from './walk-setup.ts';

/**
 * `dataPlane: rules`: first packets walk the client node's compiled rules in the modes whose rules
 * kube-proxy writes into a walkable kernel model here (iptables, both backends, and nftables).
 * ipvs, ebpf and userspace keep their formula (`walked` false; the run reports dataPlane.walked 0):
 * ebpf and userspace have no rule set, and the ipvs path (netfilter rules, ipsets and the IPVS
 * table) is walked only by its test (sim/proxy/cost/ipvs-path.test.ts).
 */
export function rulesPlane(mode: ModeModel, setup: WalkSetup): FirstPacketPlane {
  switch (mode.mode) {
    case 'iptables': {
      const walk = new IptablesRulesWalk(setup);
      return { walked: true, firstPacket: (input, at) => walk.firstPacket(input, at) };
    }
    case 'nftables': {
      const walk = new NftablesRulesWalk(setup);
      return { walked: true, firstPacket: (input, at) => walk.firstPacket(input, at) };
    }
    default:
      return formulaPlane(mode);
  }
}
