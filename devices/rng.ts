// Seeded randomness for the simulators. Profiles, jitter, backoff and fault
// injection all draw from these, never from Math.random, so a run is
// reproducible from its --seed.

/** A source of uniform numbers in [0, 1). Stateful: each call advances it. */
export type Rng = () => number;

/**
 * mulberry32: 32 bits of state, fast, and good enough for simulation
 * (passes gjrand/PractRand to 2^32 outputs). Not for anything secret.
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Mixes several integers into one 32-bit seed (murmur3's finaliser per part), so
 * device 7's stream under seed 1 shares nothing with device 8's or with seed 2's.
 */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Standard normal draw (Box-Muller); uses two uniforms per call for statelessness. */
export function gaussian(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]: log(0) would be -Infinity
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Exponential draw with the given mean: the gap between events of a Poisson process. */
export function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng()) * mean;
}

/** Uniform in [min, max). */
export function uniform(rng: Rng, min: number, max: number): number {
  return min + (max - min) * rng();
}
