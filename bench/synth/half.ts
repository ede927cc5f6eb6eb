// float32 → bfloat16 / float16 with round-to-nearest-even, as torch's .to(dtype) does. Node 20
// has no Float16Array, so this works on the raw bits.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bitsOf(x: number): number {
  f32[0] = x;
  return u32[0];
}

function bf16FromBits(u: number): number {
  // NaN: keep sign and top payload bits, force the quiet bit so truncation cannot make it inf.
  if ((u & 0x7fffffff) >>> 0 > 0x7f800000) return (u >>> 16) | 0x0040;
  // Adding 0x7fff plus the lowest kept bit rounds half to even; a carry into the exponent is the
  // correct result (up to inf for values past the largest bf16).
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

function f16FromBits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x0200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Below 2^-25 even round-half-up would give zero; ties at exactly 2^-25 go to even (zero) too.
    if (e < -10) return sign;
    // Subnormal: the value in units of 2^-24, from the mantissa with its implicit bit.
    const full = mant | 0x800000;
    const shift = 14 - e;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && m & 1)) m++;
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is the right answer, inf included.
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function f32ToBf16(x: number): number {
  return bf16FromBits(bitsOf(x));
}

export function f32ToF16(x: number): number {
  return f16FromBits(bitsOf(x));
}

/** dst[i] = bf16 bits of src[i]. */
export function f32ArrayToBf16(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = bf16FromBits(bits[i]);
}

/** dst[i] = f16 bits of src[i]. */
export function f32ArrayToF16(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = f16FromBits(bits[i]);
}
