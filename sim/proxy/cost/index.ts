import type { ModeModel, ModeOptions } from './mode-model.ts';
import type { ProxyMode } from '../mode.ts';
import { iptablesModel } from './iptables.ts';
import { nftablesModel } from './nftables.ts';
import { ipvsModel } from './ipvs.ts';
import { ebpfModel } from './ebpf.ts';
import { userspaceModel } from './userspace.ts';

export * from './mode-model.ts';

export function modeModel(mode: ProxyMode, options: ModeOptions): ModeModel {
  switch (mode) {
    case 'iptables':
      return iptablesModel(options);
    case 'nftables':
      return nftablesModel(options);
    case 'ipvs':
      return ipvsModel(options);
    case 'ebpf':
      return ebpfModel(options);
    case 'userspace':
      return userspaceModel(options);
  }
}
