import { z } from 'zod';
import { count } from './schema-fields.ts';

type DistributionField<D extends z.ZodType> = (description: string) => D;

/**
 * `connectSetup:` how connectSetupLatency places clients and endpoints and what the round trip
 * beyond the node costs (sim/run/connect-setup.ts; its defaults are cited there and in
 * docs/research/latency-references.md). Taking `distribution` as an argument keeps this file free
 * of schema.ts, which imports it.
 */
export const connectSetupSchemaOf = <D extends z.ZodType>(distribution: DistributionField<D>) =>
  z
    .strictObject({
      calibration: z
        .string()
        .min(1)
        .optional()
        .describe('A connect-latency file written by calibrate/connect-distribution.ts, relative to the study: runs draw the kernel part from its fit. Default: this project host\'s (calibrate/measured/connect-latency.json).'),
      zones: count('Zones the nodes are spread over, round robin by node index (topology.kubernetes.io/zone). Default 1: every other node is in the same zone.').default(1),
      roundTrip: z
        .strictObject({
          sameNode: distribution('Round trip added when the endpoint runs on the client\'s node. Default 0s: the measured kernel part already crosses the node\'s veths.').prefault('0s' as never),
          sameZone: distribution('Round trip between two nodes of one zone. Default lognormal median 260us, p99 556us (EC2 ping within one zone).').prefault({ lognormal: { median: '260us', p99: '556us' } } as never),
          otherZone: distribution('Round trip between nodes of two zones. Default lognormal median 1.03ms, p99 3.37ms (EC2 ping across zones).').prefault({ lognormal: { median: '1.03ms', p99: '3.37ms' } } as never),
        })
        .prefault({})
        .describe('Round trip of the SYN and SYN-ACK beyond the client\'s node, by where the endpoint runs.'),
    })
    .describe('connectSetupLatency: zones and round trips by placement. Default: one zone and the defaults below.');
