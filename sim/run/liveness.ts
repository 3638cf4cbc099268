/**
 * What happens to a SYN sent to an endpoint's IP: a serving pod answers; a pod whose process is gone
 * while its network namespace (and IP) still exists answers with RST; an IP that no longer exists
 * anywhere (pod deleted, node down) answers nothing, and the client times out.
 */
export type PodAnswer = 'serving' | 'refusing' | 'silent';

export interface PodLiveness {
  answer(ip: string, now: number): PodAnswer;
}
