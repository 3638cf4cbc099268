/**
 * One backend's health as a cloud load balancer tracks it: consecutive probe results against the
 * healthy and unhealthy thresholds (GCP healthChecks healthyThreshold / unhealthyThreshold, AWS
 * HealthyThresholdCount / UnhealthyThresholdCount, Azure probeThreshold). A healthy node turns
 * unhealthy after `unhealthyThreshold` failures in a row; an unhealthy one turns healthy after
 * `healthyThreshold` successes in a row; a result of the other kind resets the run.
 */
export interface NodeHealth {
  healthy: boolean;
  /** Consecutive results against the current state. */
  streak: number;
}

/** The next state after one probe result; returns the same object when nothing changed. */
export function observeProbe(s: NodeHealth, ok: boolean, healthyThreshold: number, unhealthyThreshold: number): NodeHealth {
  if (ok === s.healthy) return s.streak === 0 ? s : { healthy: s.healthy, streak: 0 };
  const streak = s.streak + 1;
  const threshold = s.healthy ? unhealthyThreshold : healthyThreshold;
  return streak >= threshold ? { healthy: !s.healthy, streak: 0 } : { healthy: s.healthy, streak };
}
