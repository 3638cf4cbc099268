import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import { compareEndpoints, type Endpoint } from '../proxy/endpoint.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { Distribution } from '../engine/distribution.ts';
import { sampleNs } from '../engine/distribution.ts';

/**
 * Network programming latency on a static cluster: every `everyNs` one endpoint of a random Service
 * becomes not ready (its readiness probe failed) and, one interval later, ready again. Each change is
 * a new timeline version that every node's kube-proxy hears after its own watch delay (the
 * controller's write is taken as instant here: the API side of the lag is what churn runs model), in
 * order per node as a watch delivers. The pod keeps serving throughout, as a not-ready pod does, so
 * the probe changes rules and syncs but never the outcome of a connection.
 */
export class ProgrammingProbe {
  private readonly rng: RandomStream;
  private readonly watch: RandomStream;
  /** Per node: when its watch last delivered (deliveries never overtake each other). */
  private readonly lastDelivery: Float64Array;
  /** The pod taken out: the Service's first service port and the pod's endpoint on each of its ports. */
  private flapped: { service: number; endpoints: Endpoint[] } | null = null;

  constructor(
    private readonly sim: Simulator,
    private readonly timeline: EndpointTimeline,
    private readonly agents: readonly NodeProxy[],
    private readonly everyNs: number,
    private readonly watchLatency: Distribution,
    /** internalTrafficPolicy Local: never flap a node's last local endpoint (that would drop its clients). */
    private readonly keepLastLocal = false,
    /** Service ports per Service (consecutive in the timeline): a pod's readiness changes all of them. */
    private readonly portsPerService = 1,
  ) {
    this.rng = sim.rng('metrics/programming-probe');
    this.watch = sim.rng('metrics/programming-probe/watch');
    this.lastDelivery = new Float64Array(agents.length);
  }

  start(): void {
    if (this.everyNs > 0) this.sim.schedule(this.everyNs, tick, this);
  }

  /** @internal */
  tick(): void {
    const t = this.timeline;
    const now = this.sim.now;
    const P = this.portsPerService;
    if (this.flapped) {
      const { service, endpoints } = this.flapped;
      endpoints.forEach((endpoint, p) => {
        const list = t.endpointsAt(service + p, t.version);
        t.apply(service + p, [...list, endpoint].sort(compareEndpoints), now);
      });
      this.flapped = null;
    } else {
      const service = this.rng.integer(0, t.services.length / P - 1) * P;
      const list = t.endpointsAt(service, t.version);
      // A Service with a single endpoint keeps it: the probe must not make a Service reject (with
      // Local, nor a node drop: the flapped endpoint must have a neighbour on its node).
      if (list.length > 1) {
        const k = this.rng.integer(0, list.length - 1);
        const ep = list[k]!;
        if (!this.keepLastLocal || list.some((e, i) => i !== k && e.nodeName === ep.nodeName)) {
          this.flapped = { service, endpoints: [] };
          for (let p = 0; p < P; p++) {
            const onPort = t.endpointsAt(service + p, t.version);
            const gone = onPort.find((e) => e.ip === ep.ip)!;
            this.flapped.endpoints.push(gone);
            t.apply(service + p, onPort.filter((e) => e !== gone), now);
          }
        }
      }
    }
    const version = t.version;
    for (let n = 0; n < this.agents.length; n++) {
      const at = Math.max(now + sampleNs(this.watchLatency, this.watch), this.lastDelivery[n]!);
      this.lastDelivery[n] = at;
      this.sim.scheduleAt(at, deliver, { agent: this.agents[n]!, version });
    }
    this.sim.schedule(this.everyNs, tick, this);
  }
}

const tick = (p: ProgrammingProbe) => p.tick();
const deliver = (d: { agent: NodeProxy; version: number }) => d.agent.heardUpTo(d.version);
