/*
 * Keccak-f[1600] absorbing on four independent sponges at once, one per
 * 64-bit lane of a 256-bit vector: the five-by-five state is 25 vectors, so
 * every step of the round is plain lane-wise logic with no shuffles, and one
 * instruction advances four hashes. Included by sha3_lanes.c once per
 * instruction set, with these macros defined:
 *   KERNEL_NAME   the function's name        KERNEL_TARGET  its target attribute
 *   XOR3(a,b,c)   a ^ b ^ c                  CHI(a,b,c)     a ^ (~b & c)
 *   ROL(a,n)      rotate each lane left by n (0 < n < 64)
 * Written from FIPS 202 (sections 3.2 and 3.3).
 */

__attribute__((target(KERNEL_TARGET)))
static void KERNEL_NAME(uint64_t *const st[4], const uint8_t *const in[4], size_t nblocks, size_t rate_lanes) {
/* a<x><y>: lane (x, y) of the four states; b<x><y>: the same after rho and pi. */
#define KERNEL_DECL(x, y) __m256i a##x##y = _mm256_set_epi64x((long long)st[3][x + 5 * y], (long long)st[2][x + 5 * y], (long long)st[1][x + 5 * y], (long long)st[0][x + 5 * y]), b##x##y;
  ALL_LANES(KERNEL_DECL)
#undef KERNEL_DECL
  __m256i c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
  const uint8_t *p0 = in[0], *p1 = in[1], *p2 = in[2], *p3 = in[3];
  for (; nblocks > 0; nblocks--) {
    /* The block's i-th 64-bit word goes into lane (i mod 5, i div 5). */
#define KERNEL_IN(i, lane) \
    if (rate_lanes > i) lane = _mm256_xor_si256(lane, _mm256_set_epi64x((long long)load64(p3 + 8 * i), (long long)load64(p2 + 8 * i), (long long)load64(p1 + 8 * i), (long long)load64(p0 + 8 * i)));
    KERNEL_IN(0, a00) KERNEL_IN(1, a10) KERNEL_IN(2, a20) KERNEL_IN(3, a30) KERNEL_IN(4, a40)
    KERNEL_IN(5, a01) KERNEL_IN(6, a11) KERNEL_IN(7, a21) KERNEL_IN(8, a31) KERNEL_IN(9, a41)
    KERNEL_IN(10, a02) KERNEL_IN(11, a12) KERNEL_IN(12, a22) KERNEL_IN(13, a32) KERNEL_IN(14, a42)
    KERNEL_IN(15, a03) KERNEL_IN(16, a13) KERNEL_IN(17, a23) KERNEL_IN(18, a33) KERNEL_IN(19, a43)
    KERNEL_IN(20, a04)
#undef KERNEL_IN
    p0 += 8 * rate_lanes, p1 += 8 * rate_lanes, p2 += 8 * rate_lanes, p3 += 8 * rate_lanes;
    for (int round = 0; round < 24; round++) {
      /* theta: c = column parities, d = c rotated by one; lane (x, y) takes c[x-1] ^ d[x+1]. */
      c0 = XOR3(XOR3(a00, a01, a02), a03, a04);
      c1 = XOR3(XOR3(a10, a11, a12), a13, a14);
      c2 = XOR3(XOR3(a20, a21, a22), a23, a24);
      c3 = XOR3(XOR3(a30, a31, a32), a33, a34);
      c4 = XOR3(XOR3(a40, a41, a42), a43, a44);
      d0 = ROL(c0, 1), d1 = ROL(c1, 1), d2 = ROL(c2, 1), d3 = ROL(c3, 1), d4 = ROL(c4, 1);
      /* rho (rotate lane (x, y) by its offset) and pi (move it to (y, 2x + 3y)). */
      b00 = XOR3(a00, c4, d1);
      b13 = ROL(XOR3(a01, c4, d1), 36), b21 = ROL(XOR3(a02, c4, d1), 3), b34 = ROL(XOR3(a03, c4, d1), 41), b42 = ROL(XOR3(a04, c4, d1), 18);
      b02 = ROL(XOR3(a10, c0, d2), 1), b10 = ROL(XOR3(a11, c0, d2), 44), b23 = ROL(XOR3(a12, c0, d2), 10), b31 = ROL(XOR3(a13, c0, d2), 45), b44 = ROL(XOR3(a14, c0, d2), 2);
      b04 = ROL(XOR3(a20, c1, d3), 62), b12 = ROL(XOR3(a21, c1, d3), 6), b20 = ROL(XOR3(a22, c1, d3), 43), b33 = ROL(XOR3(a23, c1, d3), 15), b41 = ROL(XOR3(a24, c1, d3), 61);
      b01 = ROL(XOR3(a30, c2, d4), 28), b14 = ROL(XOR3(a31, c2, d4), 55), b22 = ROL(XOR3(a32, c2, d4), 25), b30 = ROL(XOR3(a33, c2, d4), 21), b43 = ROL(XOR3(a34, c2, d4), 56);
      b03 = ROL(XOR3(a40, c3, d0), 27), b11 = ROL(XOR3(a41, c3, d0), 20), b24 = ROL(XOR3(a42, c3, d0), 39), b32 = ROL(XOR3(a43, c3, d0), 8), b40 = ROL(XOR3(a44, c3, d0), 14);
      /* chi along each row, then iota. */
#define KERNEL_CHI(y) \
      a0##y = CHI(b0##y, b1##y, b2##y), a1##y = CHI(b1##y, b2##y, b3##y), a2##y = CHI(b2##y, b3##y, b4##y), \
      a3##y = CHI(b3##y, b4##y, b0##y), a4##y = CHI(b4##y, b0##y, b1##y);
      KERNEL_CHI(0) KERNEL_CHI(1) KERNEL_CHI(2) KERNEL_CHI(3) KERNEL_CHI(4)
#undef KERNEL_CHI
      a00 = _mm256_xor_si256(a00, _mm256_set1_epi64x((long long)ROUND_CONSTANTS[round]));
    }
  }
#define KERNEL_OUT(x, y) { \
    uint64_t out[4]; \
    _mm256_storeu_si256((__m256i *)out, a##x##y); \
    st[0][x + 5 * y] = out[0], st[1][x + 5 * y] = out[1], st[2][x + 5 * y] = out[2], st[3][x + 5 * y] = out[3]; \
  }
  ALL_LANES(KERNEL_OUT)
#undef KERNEL_OUT
}
