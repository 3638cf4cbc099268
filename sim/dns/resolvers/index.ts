import type { ResolvConf } from '../resolv-conf.ts';
import { resolverConfig, type ResolverConfig, type ResolverLibrary } from '../resolver-options.ts';
import type { ResolverSession } from '../types.ts';
import { CoroutineSession } from './coroutine.ts';
import { glibcLookup, newGlibcState, type GlibcState } from './glibc.ts';
import { goLookup, newGoState, type GoState } from './go.ts';
import { muslLookup } from './musl.ts';

export type { GlibcState } from './glibc.ts';
export type { GoState } from './go.ts';
export { CoroutineSession } from './coroutine.ts';

/**
 * What a client keeps between lookups: glibc's per-thread flags (the sticky serial mode) and rotate
 * offset, Go's rotate counter. musl keeps nothing. One object serves every library.
 */
export interface ResolverState {
  glibc: GlibcState;
  go: GoState;
}

export function newResolverState(): ResolverState {
  return { glibc: newGlibcState(), go: newGoState() };
}

/**
 * One getaddrinfo-style lookup of `name` by `library` reading the pod's resolv.conf `conf`. `state`
 * (kept per client thread or process by the caller) is updated in place; without it the lookup
 * starts from a fresh thread.
 */
export function resolverSession(library: ResolverLibrary, conf: ResolvConf, name: string, state: ResolverState = newResolverState()): ResolverSession {
  return sessionFor(resolverConfig(library, conf), name, state);
}

/** The same, from a library's already-read configuration (a run reads resolv.conf once per client). */
export function sessionFor(cfg: ResolverConfig, name: string, state: ResolverState = newResolverState()): ResolverSession {
  switch (cfg.library) {
    case 'glibc':
      return new CoroutineSession((ctx) => glibcLookup(ctx, cfg, name, state.glibc));
    case 'musl':
      return new CoroutineSession((ctx) => muslLookup(ctx, cfg, name));
    case 'go':
      return new CoroutineSession((ctx) => goLookup(ctx, cfg, name, state.go));
  }
}
