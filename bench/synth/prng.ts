// Seeded random numbers for synthetic weights. Only 32-bit integer ops, + and × are used (no
// Math.log/cos, whose last bits are up to the platform's libm), so the same seed gives the same
// bits on every machine.

/** splitmix32: turns any 32-bit value into a well-mixed one; used to expand seeds. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a over UTF-16 code units, so a tensor name picks its own stream. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// Sum of four 16-bit uniforms (Irwin–Hall, n = 4) standardised: close enough to a normal for
// random weights (tails cut at ±3.46σ), and costs two generator outputs per value.
const IH_MEAN = 2 * 65535;
const IH_SCALE = 1 / Math.sqrt((4 * (65536 * 65536 - 1)) / 12);

/** xoshiro128** (Blackman & Vigna): fast, 2^128 − 1 period, good enough statistics for weights. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A stream keyed by (seed, key): e.g. each tensor draws from its own stream. */
  constructor(seed: number, key = '') {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
    }
    let x = mix32(seed ^ mix32(hashString(key)));
    this.s0 = x = mix32(x);
    this.s1 = x = mix32(x);
    this.s2 = x = mix32(x);
    this.s3 = mix32(x);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextU32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2 ^ s0, s3 = this.s3 ^ s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    this.s0 = s0 ^ s3;
    this.s1 = s1 ^ s2;
    this.s2 = s2 ^ (s1 << 9);
    this.s3 = rotl(s3, 11);
    return r;
  }

  /** Uniform in [0, 1) with 24 bits, so it is exact as a float32 too. */
  uniform(): number {
    return (this.nextU32() >>> 8) * 2 ** -24;
  }

  /** Uniform integer in [lo, hi); the modulo bias is irrelevant for the small ranges used here. */
  int(lo: number, hi: number): number {
    return lo + (this.nextU32() % (hi - lo));
  }

  /** Approximately standard normal (see IH_SCALE). */
  normal(): number {
    const a = this.nextU32(), b = this.nextU32();
    return ((a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) - IH_MEAN) * IH_SCALE;
  }

  /**
   * out[i] = mean + normal() · std, bit for bit as if normal() were called out.length times.
   * The generator is inlined because this loop produces every weight of a 70B-shaped layer.
   */
  fillNormal(out: Float32Array, mean: number, std: number): void {
    let s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3, t: number, a: number, b: number;
    for (let i = 0; i < out.length; i++) {
      a = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
      b = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
      out[i] = mean + ((a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) - IH_MEAN) * IH_SCALE * std;
    }
    this.s0 = s0; this.s1 = s1; this.s2 = s2; this.s3 = s3;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
