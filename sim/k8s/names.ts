import type { RandomStream } from '../engine/random.ts';

/**
 * metadata.generateName as the API server fills it (k8s.io/apiserver/pkg/storage/names/generate.go:
 * the prefix, cut to 58 characters, plus 5 characters from k8s.io/apimachinery/pkg/util/rand's
 * alphabet, which leaves out vowels and look-alike characters so names never spell words).
 */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_NAME_LENGTH = 63;
const RANDOM_LENGTH = 5;
const MAX_GENERATED_PREFIX = MAX_NAME_LENGTH - RANDOM_LENGTH;

export class NameGenerator {
  constructor(private readonly rng: RandomStream) {}

  generate(prefix: string): string {
    let s = prefix.length > MAX_GENERATED_PREFIX ? prefix.slice(0, MAX_GENERATED_PREFIX) : prefix;
    for (let i = 0; i < RANDOM_LENGTH; i++) s += ALPHANUMS[Math.floor(this.rng.random() * ALPHANUMS.length)];
    return s;
  }
}
