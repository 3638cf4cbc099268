import { z } from 'zod';
import { issueText } from './issue-text.ts';
import { count, duration } from './schema-fields.ts';
import { checkServiceShares, externalServiceFields } from './schema-external.ts';
import { checkZones, topologyServiceFields, zonesField } from './schema-topology.ts';

/** The `cluster:` section: a synthetic cluster of identical Services, or Kubernetes manifests. */

const servicesSchema = z
  .strictObject({
    count: count('Number of Services (each a ClusterIP Service with a selector).'),
    endpointsPerService: count('Ready pods behind each Service.'),
    ports: count('Ports per Service (each a separate ServicePort: its own KUBE-SVC chain). Default 1.').default(1),
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP').describe('Service port protocol, as in the Service spec. Default TCP.'),
    sessionAffinityTimeout: duration('spec.sessionAffinityConfig.clientIP.timeoutSeconds. Default 3h (10800s, the Kubernetes default).').prefault('3h'),
    // Service types and external fields (north-south traffic): schema-external.ts.
    ...externalServiceFields,
    // sessionAffinity, trafficPolicy, trafficDistribution, topologyMode, one value or a mix: schema-topology.ts.
    ...topologyServiceFields,
  })
  .superRefine(checkServiceShares)
  .describe('A synthetic set of identical Services, each with its own Deployment of pods.');

export const clusterSchema = z
  .strictObject({
    nodes: count('Number of worker nodes, each running kube-proxy. Default 3.').default(3),
    cpusPerNode: count('CPU cores per node (sizes nf_conntrack_max from conntrack.maxPerCore). Default 4.').default(4),
    services: servicesSchema.optional(),
    manifests: z
      .string()
      .min(1)
      .optional()
      .describe('Path (relative to the scenario file) to Kubernetes YAML: Services, EndpointSlices, Pods, Deployments, as `kubectl get -o yaml` prints them.'),
    serviceCIDR: z.string().default('10.96.0.0/12').describe('ClusterIP range (kube-apiserver --service-cluster-ip-range). Default 10.96.0.0/12, kubeadm\'s.'),
    clusterCIDR: z.string().default('10.244.0.0/16').describe('Pod range (kube-proxy --cluster-cidr). Default 10.244.0.0/16.'),
    nodeCIDRMaskSize: z.number().int().min(8).max(30).default(24).describe('Per-node pod CIDR prefix length. Default 24.'),
    zones: zonesField,
  })
  .superRefine(checkZones)
  .superRefine((c, ctx) => {
    if ((c.services === undefined) === (c.manifests === undefined)) {
      ctx.addIssue({
        code: 'custom',
        input: c,
        message: issueText({ expected: 'exactly one of services (a synthetic cluster) or manifests (a path to Kubernetes YAML)' }),
      });
    }
  })
  .describe('The cluster: a synthetic one (nodes and services) or Kubernetes manifests.');
