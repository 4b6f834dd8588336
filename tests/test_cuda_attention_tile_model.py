"""A model of the tensor-core attention kernels' data path (cuda/attention.cu), checked without a GPU.

The kernels' index formulas are restated here and run on NumPy with the PTX semantics of
ldmatrix (.x4, .trans) and of the mma.m16n8k16 fragments (cuda/mma.cuh's table):

- ``swizzle<kD>`` and ``load_tile``'s cp.async chunk placement (zero fill past the valid rows
  and past head_dim), read back by ldmatrix at ``a_row/a_col`` (Q, and V / K through .trans) and
  ``b_row/b_col`` (K, V, Q, dO as the n-major operand);
- ``c_to_a``: the S accumulators of two n8 tiles reused as the A fragment of P V / dS K;
- the forward's packed GQA rows, causal bottom-right limit (q_len != k_len, rows that see no
  key), the online softmax in the log2 domain with its fully-masked-row guard, the epilogue's
  lse, and the split-K partials with their combine;
- the backward's dQ kernel (S, dP, dS = P (dP - D), dQ += dS K) and dK/dV kernel (transposed:
  keys are the accumulator rows) over the same packed rows, with its causal tile skipping.

Arithmetic is float64 with no 16-bit rounding, so the model must reproduce a float64 NumPy
attention to rounding error: a wrong lane, register, swizzle or mask index gives a visibly
wrong answer. It checks the addressing, not the compiled code (tests/test_cuda_attention.py
does that on a GPU); a change to these formulas in the kernel must be made here too.
"""

import numpy as np
import pytest

LOG2E = 1.4426950408889634
LANES = np.arange(32)
G, T = LANES // 4, LANES % 4


# ---- the PTX building blocks -------------------------------------------------------------------
def swizzle(kd, row, col):
    return row * kd + ((((col >> 3) ^ (row & 7))) << 3) + (col & 7)


def a_row(lane):
    return lane & 15


def a_col(lane):
    return (lane >> 4) << 3


def b_row(lane):
    return (lane & 7) + ((lane >> 4) << 3)


def b_col(lane):
    return ((lane >> 3) & 1) << 3


def ldmatrix_x4(sm, addrs, trans=False):
    """addrs[lane]: element offset of the 8-element row lane gives; returns regs[lane, q, 2]."""
    rows = sm[addrs[:, None] + np.arange(8)]  # (32, 8): row r of matrix q is rows[8q + r]
    mats = rows.reshape(4, 8, 8)
    regs = np.empty((32, 4, 2))
    for q in range(4):
        if trans:
            regs[:, q, 0], regs[:, q, 1] = mats[q, 2 * T, G], mats[q, 2 * T + 1, G]
        else:
            regs[:, q, 0], regs[:, q, 1] = mats[q, G, 2 * T], mats[q, G, 2 * T + 1]
    return regs


def mma(c, a, b0, b1):
    """c (32, 4) += A (from a (32, 4, 2)) @ B (from b0, b1 (32, 2)), fragment layouts of m16n8k16."""
    A = np.zeros((16, 16))
    A[G[:, None], 2 * T[:, None] + [0, 1]] = a[:, 0]
    A[G[:, None] + 8, 2 * T[:, None] + [0, 1]] = a[:, 1]
    A[G[:, None], 2 * T[:, None] + [8, 9]] = a[:, 2]
    A[G[:, None] + 8, 2 * T[:, None] + [8, 9]] = a[:, 3]
    B = np.zeros((16, 8))
    B[2 * T[:, None] + [0, 1], G[:, None]] = b0
    B[2 * T[:, None] + [8, 9], G[:, None]] = b1
    C = A @ B
    c[:, 0] += C[G, 2 * T]
    c[:, 1] += C[G, 2 * T + 1]
    c[:, 2] += C[G + 8, 2 * T]
    c[:, 3] += C[G + 8, 2 * T + 1]


def c_to_a(lo, hi):
    a = np.empty((32, 4, 2))
    a[:, 0], a[:, 1], a[:, 2], a[:, 3] = lo[:, 0:2], lo[:, 2:4], hi[:, 0:2], hi[:, 2:4]
    return a


def quad(x, op):  # the __shfl_xor 1, 2 reduction over the 4 lanes of a row group
    r = op(x.reshape(8, 4), axis=1)
    return np.repeat(r, 4)


def load_tile(k_rows, kd, rows, valid_rows, head_dim):
    """load_tile: rows[row] is the global row (head_dim values) for row < valid_rows."""
    sm = np.full(k_rows * kd, np.nan)
    for row in range(k_rows):
        for c in range(kd // 8):
            ok = row < valid_rows and c * 8 < head_dim
            sm[swizzle(kd, row, c * 8) + np.arange(8)] = rows[row][c * 8:c * 8 + 8] if ok else 0.0
    assert not np.isnan(sm).any()
    return sm


# ---- problem and reference ---------------------------------------------------------------------
class Problem:
    def __init__(self, rng, heads, kv_heads, q_len, k_len, head_dim, causal, scale=0.3):
        self.heads, self.kv_heads, self.q_len, self.k_len, self.d = heads, kv_heads, q_len, k_len, head_dim
        self.causal, self.scale, self.group = causal, scale, heads // kv_heads
        self.q = rng.standard_normal((heads, q_len, head_dim))
        self.k = rng.standard_normal((kv_heads, k_len, head_dim))
        self.v = rng.standard_normal((kv_heads, k_len, head_dim))
        self.do = rng.standard_normal((heads, q_len, head_dim))
        self.diag = k_len - q_len

    def limit(self, i):  # keys < limit are visible to query i
        return min(self.k_len, i + self.diag + 1) if self.causal else self.k_len

    def reference(self):
        L, S, d = self.q_len, self.k_len, self.d
        kk = np.repeat(self.k, self.group, axis=0)
        vv = np.repeat(self.v, self.group, axis=0)
        s = self.scale * np.einsum("hid,hjd->hij", self.q, kk)
        visible = np.arange(S)[None, :] < np.array([self.limit(i) for i in range(L)])[:, None]
        s = np.where(visible[None], s, -np.inf)
        m = s.max(axis=2, keepdims=True)
        m_safe = np.where(np.isfinite(m), m, 0.0)
        p = np.exp(s - m_safe)
        l = p.sum(axis=2, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            lse = np.where(l > 0, np.log(l) + m_safe, -np.inf)[..., 0]
            p = np.where(l > 0, p / np.where(l > 0, l, 1), 0.0)
        out = np.einsum("hij,hjd->hid", p, vv)
        dp = np.einsum("hid,hjd->hij", self.do, vv)
        D = (self.do * out).sum(axis=2, keepdims=True)
        ds = p * (dp - D)
        dq = self.scale * np.einsum("hij,hjd->hid", ds, kk)
        per_kv = (self.kv_heads, self.group, S, d)  # sum the group's query heads
        dk = self.scale * np.einsum("hij,hid->hjd", ds, self.q).reshape(per_kv).sum(1)
        dv = np.einsum("hij,hid->hjd", p, self.do).reshape(per_kv).sum(1)
        return out, lse, D[..., 0], dq, dk, dv

    # packed row r of kv head hk: query r % q_len of head hk * group + r // q_len
    def packed(self, x, hk, r):
        return x[hk * self.group + r // self.q_len, r % self.q_len]


def tile_queries(r0, r_last, q_len):
    if r0 // q_len == r_last // q_len:
        return r0 % q_len, r_last % q_len
    return 0, q_len - 1


def row_tile(P, x, hk, r0, kbm, kd):  # load_tile of kbm packed query rows of x (q or dO)
    rows = P.group * P.q_len
    src = [P.packed(x, hk, min(r0 + j, rows - 1)) for j in range(kbm)]
    return load_tile(kbm, kd, src, min(kbm, rows - r0), P.d)


def key_tile(P, x, hk, n0, kbn, kd):  # load_tile of kbn keys of x (k or v)
    src = [x[hk, min(n0 + j, P.k_len - 1)] for j in range(kbn)]
    return load_tile(kbn, kd, src, min(kbn, P.k_len - n0), P.d)


def a_addr(kd, r0, c0):  # a_row / a_col addresses of the 16x16 block at (r0, c0)
    return swizzle(kd, r0 + a_row(LANES), c0 + a_col(LANES))


def b_addr(kd, r0, c0):  # b_row / b_col addresses of two n8 tiles (rows r0..r0+15) x k16 at c0
    return swizzle(kd, r0 + b_row(LANES), c0 + b_col(LANES))


# ---- forward (attention_fwd_mma + attention_splitk_combine) --------------------------------------
def forward_block(P, kd, kbn, warps, hk, tile, n_begin, n_stop_cap):
    """One block of attention_fwd_mma; returns {packed row: (out row, lse)}."""
    kbm, rows = 16 * warps, P.group * P.q_len
    r0, r_last = tile * kbm, min(tile * kbm + kbm, rows) - 1
    i_lo, i_hi = tile_queries(r0, r_last, P.q_len)
    key_end = min(P.k_len, i_hi + P.diag + 1) if P.causal else P.k_len
    n_stop = min(key_end, n_stop_cap)
    sl2 = P.scale * LOG2E
    sQ = row_tile(P, P.q, hk, r0, kbm, kd)
    result = {}
    for warp in range(warps):
        limit = []
        for hf in range(2):
            r = np.minimum(r0 + warp * 16 + G + 8 * hf, rows - 1)
            limit.append(np.array([P.limit(i) for i in r % P.q_len]))
        o = np.zeros((kd // 8, 32, 4))
        m = np.full((2, 32), -np.inf)
        lsum = np.zeros((2, 32))
        for n0 in range(n_begin, max(n_stop, n_begin), kbn):
            sK, sV = key_tile(P, P.k, hk, n0, kbn, kd), key_tile(P, P.v, hk, n0, kbn, kd)
            s = np.zeros((kbn // 8, 32, 4))
            for kk in range(kd // 16):
                a = ldmatrix_x4(sQ, a_addr(kd, warp * 16, kk * 16))
                for nn in range(kbn // 16):
                    bk = ldmatrix_x4(sK, b_addr(kd, nn * 16, kk * 16))
                    mma(s[2 * nn], a, bk[:, 0], bk[:, 1])
                    mma(s[2 * nn + 1], a, bk[:, 2], bk[:, 3])
            x = s * sl2
            # the kernel masks only tiles that can hold a masked key (`edge`): skipping the others
            # must change nothing
            edge = n0 + kbn > P.k_len or (P.causal and n0 + kbn - 1 > i_lo + P.diag)
            for n in range(kbn // 8 if edge else 0):
                for e in range(4):
                    key = n0 + n * 8 + 2 * T + (e & 1)
                    x[n, :, e] = np.where(key >= limit[e // 2], -np.inf, x[n, :, e])
            for hf in range(2):
                mx = np.max(x[:, :, 2 * hf:2 * hf + 2], axis=(0, 2))
                m_new = np.maximum(m[hf], quad(mx, np.max))
                m_use = np.where(m_new == -np.inf, 0.0, m_new)
                alpha = np.exp2(m[hf] - m_use)
                m[hf] = m_new
                x[:, :, 2 * hf:2 * hf + 2] = np.exp2(x[:, :, 2 * hf:2 * hf + 2] - m_use[None, :, None])
                lsum[hf] = lsum[hf] * alpha + x[:, :, 2 * hf:2 * hf + 2].sum(axis=(0, 2))
                o[:, :, 2 * hf:2 * hf + 2] *= alpha[None, :, None]
            for kk in range(kbn // 16):
                a = c_to_a(x[2 * kk], x[2 * kk + 1])
                for dn in range(kd // 16):
                    bv = ldmatrix_x4(sV, a_addr(kd, kk * 16, dn * 16), trans=True)
                    mma(o[2 * dn], a, bv[:, 0], bv[:, 1])
                    mma(o[2 * dn + 1], a, bv[:, 2], bv[:, 3])
        for hf in range(2):
            total = quad(lsum[hf], np.sum)
            for lane in range(0, 32, 4):
                r = r0 + warp * 16 + G[lane] + 8 * hf
                if r >= rows:
                    continue
                inv = 1.0 / total[lane] if total[lane] > 0 else 0.0
                lse = (m[hf, lane] + np.log2(total[lane])) / LOG2E if total[lane] > 0 else -np.inf
                row = np.zeros(kd)
                for tt in range(4):
                    for n in range(kd // 8):
                        row[n * 8 + 2 * tt: n * 8 + 2 * tt + 2] = o[n, lane + tt, 2 * hf:2 * hf + 2] * inv
                result[r] = (row[:P.d], lse)
    return result


def forward_model(P, kd, kbn, warps, splits=1, keys_per_split=None):
    rows, kbm = P.group * P.q_len, 16 * warps
    out = np.full((P.heads, P.q_len, P.d), np.nan)
    lse = np.full((P.heads, P.q_len), np.nan)
    kps = keys_per_split or 1 << 40
    for hk in range(P.kv_heads):
        for tile in range((rows + kbm - 1) // kbm):
            parts = [forward_block(P, kd, kbn, warps, hk, tile, sp * kps, sp * kps + kps)
                     for sp in range(splits)]
            for r in parts[0]:
                h, i = hk * P.group + r // P.q_len, r % P.q_len
                if splits == 1:
                    out[h, i], lse[h, i] = parts[0][r]
                    continue
                ls = np.array([p[r][1] for p in parts])  # attention_splitk_combine
                mx = ls.max()
                if mx == -np.inf:
                    out[h, i], lse[h, i] = 0.0, -np.inf
                    continue
                w = np.exp(ls - mx)
                out[h, i] = sum(wi * p[r][0] for wi, p in zip(w, parts, strict=True)) / w.sum()
                lse[h, i] = mx + np.log(w.sum())
    return out, lse


# heads, kv_heads, q_len, k_len, head_dim, causal
SHAPES = [
    (2, 1, 5, 9, 24, False),   # GQA rows packed across heads, edge key tile, head_dim < kD
    (4, 2, 7, 3, 16, True),    # q_len > k_len: the first queries see no key (out 0, lse -inf)
    (2, 2, 3, 40, 64, True),   # q_len < k_len: bottom-right diagonal
    (4, 1, 1, 37, 40, True),   # decode: one query per head, four heads in one m16 tile
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kbn", [16, 32])
def test_forward_tile_model_is_attention(shape, kbn):
    P = Problem(np.random.default_rng(1), *shape)
    ref_out, ref_lse, *_ = P.reference()
    out, lse = forward_model(P, kd=64, kbn=kbn, warps=2)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.isneginf(lse), np.isneginf(ref_lse))
    np.testing.assert_allclose(lse[np.isfinite(lse)], ref_lse[np.isfinite(ref_lse)], rtol=1e-12)


@pytest.mark.parametrize("shape", [SHAPES[2], SHAPES[3]])
def test_split_k_partials_combine_to_attention(shape):
    P = Problem(np.random.default_rng(2), *shape)
    ref_out, ref_lse, *_ = P.reference()
    out, lse = forward_model(P, kd=64, kbn=16, warps=2, splits=3, keys_per_split=16)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lse, ref_lse, rtol=1e-12)


# ---- backward (attention_bwd_dq_mma, attention_bwd_dkdv_mma) --------------------------------------
def dq_model(P, lse, D, kd, kbn, warps):
    rows, kbm, sl2 = P.group * P.q_len, 16 * warps, P.scale * LOG2E
    dq = np.full((P.heads, P.q_len, P.d), np.nan)
    lse2_of = np.where(np.isneginf(lse), np.inf, lse * LOG2E)
    for hk in range(P.kv_heads):
        for tile in range((rows + kbm - 1) // kbm):
            r0, r_last = tile * kbm, min(tile * kbm + kbm, rows) - 1
            i_hi = tile_queries(r0, r_last, P.q_len)[1]
            key_end = min(P.k_len, i_hi + P.diag + 1) if P.causal else P.k_len
            sQ, sdO = row_tile(P, P.q, hk, r0, kbm, kd), row_tile(P, P.do, hk, r0, kbm, kd)
            for warp in range(warps):
                limit, lse2, Drow = [], [], []
                for hf in range(2):
                    r_raw = r0 + warp * 16 + G + 8 * hf
                    r = np.minimum(r_raw, rows - 1)
                    h, i = hk * P.group + r // P.q_len, r % P.q_len
                    limit.append(np.array([P.limit(x) for x in i]))
                    lse2.append(np.where(r_raw < rows, lse2_of[h, i], np.inf))
                    Drow.append(D[h, i])
                acc = np.zeros((kd // 8, 32, 4))
                for n0 in range(0, max(key_end, 0), kbn):
                    sK, sV = key_tile(P, P.k, hk, n0, kbn, kd), key_tile(P, P.v, hk, n0, kbn, kd)
                    s, dp = np.zeros((kbn // 8, 32, 4)), np.zeros((kbn // 8, 32, 4))
                    for kk in range(kd // 16):
                        aq = ldmatrix_x4(sQ, a_addr(kd, warp * 16, kk * 16))
                        ad = ldmatrix_x4(sdO, a_addr(kd, warp * 16, kk * 16))
                        for nn in range(kbn // 16):
                            bk = ldmatrix_x4(sK, b_addr(kd, nn * 16, kk * 16))
                            bv = ldmatrix_x4(sV, b_addr(kd, nn * 16, kk * 16))
                            mma(s[2 * nn], aq, bk[:, 0], bk[:, 1])
                            mma(s[2 * nn + 1], aq, bk[:, 2], bk[:, 3])
                            mma(dp[2 * nn], ad, bv[:, 0], bv[:, 1])
                            mma(dp[2 * nn + 1], ad, bv[:, 2], bv[:, 3])
                    for n in range(kbn // 8):
                        for e in range(4):
                            key = n0 + n * 8 + 2 * T + (e & 1)
                            x = np.where(key >= limit[e // 2], -np.inf, s[n, :, e] * sl2)
                            dp[n, :, e] = np.exp2(x - lse2[e // 2]) * (dp[n, :, e] - Drow[e // 2])
                    for kk in range(kbn // 16):
                        a = c_to_a(dp[2 * kk], dp[2 * kk + 1])
                        for dn in range(kd // 16):
                            bk = ldmatrix_x4(sK, a_addr(kd, kk * 16, dn * 16), trans=True)
                            mma(acc[2 * dn], a, bk[:, 0], bk[:, 1])
                            mma(acc[2 * dn + 1], a, bk[:, 2], bk[:, 3])
                for hf in range(2):
                    for lane in range(32):
                        r = r0 + warp * 16 + G[lane] + 8 * hf
                        if r >= rows:
                            continue
                        h, i = hk * P.group + r // P.q_len, r % P.q_len
                        for n in range(kd // 8):
                            col = n * 8 + 2 * T[lane]
                            if col < P.d:
                                dq[h, i, col:col + 2] = acc[n, lane, 2 * hf:2 * hf + 2] * P.scale
    return dq


def dkdv_model(P, lse, D, kd, kbm, warps):
    rows, kbn, sl2 = P.group * P.q_len, 16 * warps, P.scale * LOG2E
    dk = np.full((P.kv_heads, P.k_len, P.d), np.nan)
    dv = np.full((P.kv_heads, P.k_len, P.d), np.nan)
    lse2_of = np.where(np.isneginf(lse), np.inf, lse * LOG2E)
    row_tiles = (rows + kbm - 1) // kbm
    for hk in range(P.kv_heads):
        for kt in range((P.k_len + kbn - 1) // kbn):
            n0 = kt * kbn
            sK, sV = key_tile(P, P.k, hk, n0, kbn, kd), key_tile(P, P.v, hk, n0, kbn, kd)

            def visible(qt, n0=n0):
                if not P.causal:
                    return True
                r0 = qt * kbm
                return tile_queries(r0, min(r0 + kbm, rows) - 1, P.q_len)[1] + P.diag >= n0

            tiles = [qt for qt in range(row_tiles) if visible(qt)]
            for warp in range(warps):
                key = [n0 + warp * 16 + G + 8 * hf for hf in range(2)]
                acc_k, acc_v = np.zeros((kd // 8, 32, 4)), np.zeros((kd // 8, 32, 4))
                for qt in tiles:
                    r0 = qt * kbm
                    sQ, sdO = row_tile(P, P.q, hk, r0, kbm, kd), row_tile(P, P.do, hk, r0, kbm, kd)
                    c_rows = r0 + np.arange(kbm)
                    rr = np.minimum(c_rows, rows - 1)
                    h, i = hk * P.group + rr // P.q_len, rr % P.q_len
                    tLse2 = np.where(c_rows < rows, lse2_of[h, i], np.inf)
                    tD = D[h, i]
                    tLimit = i + P.diag if P.causal else np.full(kbm, 1 << 62)
                    st, dpt = np.zeros((kbm // 8, 32, 4)), np.zeros((kbm // 8, 32, 4))
                    for kk in range(kd // 16):
                        ak = ldmatrix_x4(sK, a_addr(kd, warp * 16, kk * 16))
                        av = ldmatrix_x4(sV, a_addr(kd, warp * 16, kk * 16))
                        for nn in range(kbm // 16):
                            bq = ldmatrix_x4(sQ, b_addr(kd, nn * 16, kk * 16))
                            bd = ldmatrix_x4(sdO, b_addr(kd, nn * 16, kk * 16))
                            mma(st[2 * nn], ak, bq[:, 0], bq[:, 1])
                            mma(st[2 * nn + 1], ak, bq[:, 2], bq[:, 3])
                            mma(dpt[2 * nn], av, bd[:, 0], bd[:, 1])
                            mma(dpt[2 * nn + 1], av, bd[:, 2], bd[:, 3])
                    for n in range(kbm // 8):
                        for e in range(4):
                            c = n * 8 + 2 * T + (e & 1)
                            kr = key[e // 2]
                            x = np.where((kr >= P.k_len) | (kr > tLimit[c]), -np.inf, st[n, :, e] * sl2)
                            pr = np.exp2(x - tLse2[c])
                            st[n, :, e] = pr
                            dpt[n, :, e] = pr * (dpt[n, :, e] - tD[c])
                    for kk in range(kbm // 16):
                        ap, as_ = c_to_a(st[2 * kk], st[2 * kk + 1]), c_to_a(dpt[2 * kk], dpt[2 * kk + 1])
                        for dn in range(kd // 16):
                            addr = a_addr(kd, kk * 16, dn * 16)
                            bd, bq = ldmatrix_x4(sdO, addr, trans=True), ldmatrix_x4(sQ, addr, trans=True)
                            mma(acc_v[2 * dn], ap, bd[:, 0], bd[:, 1])
                            mma(acc_v[2 * dn + 1], ap, bd[:, 2], bd[:, 3])
                            mma(acc_k[2 * dn], as_, bq[:, 0], bq[:, 1])
                            mma(acc_k[2 * dn + 1], as_, bq[:, 2], bq[:, 3])
                for hf in range(2):
                    for lane in range(32):
                        kr = key[hf][lane]
                        if kr >= P.k_len:
                            continue
                        for n in range(kd // 8):
                            col = n * 8 + 2 * T[lane]
                            if col < P.d:
                                dk[hk, kr, col:col + 2] = acc_k[n, lane, 2 * hf:2 * hf + 2] * P.scale
                                dv[hk, kr, col:col + 2] = acc_v[n, lane, 2 * hf:2 * hf + 2]
    return dk, dv


@pytest.mark.parametrize("shape", SHAPES)
def test_backward_tile_models_are_the_gradients(shape):
    P = Problem(np.random.default_rng(3), *shape)
    _, lse, D, ref_dq, ref_dk, ref_dv = P.reference()
    dq = dq_model(P, lse, D, kd=64, kbn=16, warps=2)
    dk, dv = dkdv_model(P, lse, D, kd=64, kbm=16, warps=2)
    np.testing.assert_allclose(dq, ref_dq, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dk, ref_dk, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dv, ref_dv, rtol=1e-10, atol=1e-12)


def test_the_model_notices_a_wrong_fragment():
    # the check has teeth: reading V without .trans (a plausible slip) breaks the product
    P = Problem(np.random.default_rng(4), 2, 1, 5, 9, 24, False)
    ref_out, *_ = P.reference()
    global ldmatrix_x4
    real = ldmatrix_x4
    try:
        ldmatrix_x4 = lambda sm, addrs, trans=False: real(sm, addrs, False)  # noqa: E731
        out, _ = forward_model(P, kd=64, kbn=16, warps=2)
    finally:
        ldmatrix_x4 = real
    assert not np.allclose(out, ref_out, atol=1e-6)
