import { describe, expect, it } from 'vitest';
import { f32ArrayToBf16, f32ArrayToF16, f32ToBf16, f32ToF16 } from '../../bench/synth/half.js';
import { bf16ToF32, f16ToF32, f32FromBits } from './helpers.js';

describe('f32 → bf16', () => {
  it('converts exact values, signed zeros and infinities', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(-2)).toBe(0xc000);
    expect(f32ToBf16(3.140625)).toBe(0x4049);
    expect(f32ToBf16(0)).toBe(0x0000);
    expect(f32ToBf16(-0)).toBe(0x8000);
    expect(f32ToBf16(Infinity)).toBe(0x7f80);
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
  });

  it('rounds to nearest, ties to even', () => {
    expect(f32ToBf16(f32FromBits(0x3f808000))).toBe(0x3f80); // halfway, 0x3f80 is even
    expect(f32ToBf16(f32FromBits(0x3f818000))).toBe(0x3f82); // halfway, 0x3f82 is even
    expect(f32ToBf16(f32FromBits(0x3f808001))).toBe(0x3f81); // just above halfway
    expect(f32ToBf16(f32FromBits(0x3f807fff))).toBe(0x3f80); // just below halfway
    expect(f32ToBf16(f32FromBits(0xbf818000))).toBe(0xbf82); // negative tie
    expect(f32ToBf16(0.1)).toBe(0x3dcd);
    expect(f32ToBf16(f32FromBits(0x7f7fffff))).toBe(0x7f80); // largest f32 rounds up to inf
    expect(f32ToBf16(f32FromBits(0x00000001))).toBe(0x0000); // smallest subnormal rounds to 0
  });

  it('keeps NaN a NaN, even when only low payload bits are set', () => {
    expect(f32ToBf16(NaN)).toBe(0x7fc0);
    expect(f32ToBf16(f32FromBits(0x7f800001)) & 0x7fff).toBeGreaterThan(0x7f80);
    expect(f32ToBf16(f32FromBits(0xff800001)) & 0x8000).toBe(0x8000);
  });

  it('round-trips every bf16 and sends every midpoint to the even neighbour', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = bf16ToF32(h);
      if (Number.isNaN(v)) continue;
      expect(f32ToBf16(v)).toBe(h);
      if ((h & 0x7fff) < 0x7f7f) {
        const mid = f32FromBits((h << 16) + 0x8000); // halfway to the next larger magnitude
        expect(f32ToBf16(mid)).toBe(h & 1 ? h + 1 : h);
      }
    }
  });
});

describe('f32 → f16', () => {
  it('converts exact values, extremes, signed zeros and infinities', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(2 ** -14)).toBe(0x0400); // smallest normal
    expect(f32ToF16(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16(0)).toBe(0x0000);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
  });

  it('rounds to nearest, ties to even, in normal and subnormal range and at overflow', () => {
    expect(f32ToF16(0.1)).toBe(0x2e66);
    expect(f32ToF16(1 / 3)).toBe(0x3555);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie, 0x3c00 is even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, 0x3c02 is even
    expect(f32ToF16(-(1 + 3 * 2 ** -11))).toBe(0xbc02);
    expect(f32ToF16(65519)).toBe(0x7bff); // below the midpoint to 65536
    expect(f32ToF16(65520)).toBe(0x7c00); // the midpoint: ties to even, which is inf
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie to 0
    expect(f32ToF16(f32FromBits(0x33000001))).toBe(0x0001); // just above 2^-25
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // 1.5 units: tie to even 2
    expect(f32ToF16(5 * 2 ** -25)).toBe(0x0002); // 2.5 units: tie to even 2
    expect(f32ToF16(1e-8)).toBe(0x0000);
    expect(f32ToF16(-1e-8)).toBe(0x8000);
    expect(f32ToF16(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up out of the subnormals
  });

  it('maps every NaN to a NaN', () => {
    expect(f32ToF16(NaN)).toBe(0x7e00);
    expect(f32ToF16(f32FromBits(0x7f800001)) & 0x7fff).toBeGreaterThan(0x7c00);
    expect(f32ToF16(f32FromBits(0xffc00000))).toBe(0xfe00);
  });

  it('round-trips every f16 and sends every midpoint to the even neighbour', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16ToF32(h);
      if (Number.isNaN(v)) continue;
      expect(f32ToF16(v)).toBe(h);
      if ((h & 0x7fff) < 0x7c00) {
        const next = f16ToF32(h + 1); // next larger magnitude, same sign (0x7bff + 1 is inf)
        const mid = Number.isFinite(next) ? (v + next) / 2 : Math.sign(v || 1) * 65520;
        expect(f32ToF16(mid)).toBe(h & 1 ? h + 1 : h);
      }
    }
  });
});

describe('array conversion', () => {
  it('matches the scalar conversions element by element', () => {
    const src = new Float32Array([1, -0, 0.1, 65520, 1e-8, NaN, -Infinity, f32FromBits(0x3f808000), 3 * 2 ** -25]);
    const bf = new Uint16Array(src.length);
    const f16 = new Uint16Array(src.length);
    f32ArrayToBf16(src, bf);
    f32ArrayToF16(src, f16);
    expect([...bf]).toEqual([...src].map(f32ToBf16));
    expect([...f16]).toEqual([...src].map(f32ToF16));
    expect([...f16]).toEqual([0x3c00, 0x8000, 0x2e66, 0x7c00, 0, 0x7e00, 0xfc00, 0x3c04, 0x0002]);
  });
});
