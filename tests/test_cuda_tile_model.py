"""A model of tc_gemm_kernel's data path (cuda/gemm_kernels.cuh), checked without a GPU.

The kernel's index formulas (smem_offset's XOR swizzle, cp_async_operand's chunk placement,
tc_k_step's ldmatrix row addresses for K-major and MN-major operands, the epilogue's (row, col)
of each accumulator) are restated here and run on NumPy with the PTX semantics of ldmatrix
(x4, .trans) and of the m16n8k16 fragments: one 128x128 tile over one 32-element k-slice must be
A @ B for all four operand layouts, and every ldmatrix phase must be bank-conflict free. It
checks the addressing arithmetic, not the compiled code (that is tests/test_cuda_gemm.py's job on
a GPU); a change to those formulas in the kernel must be made here too.
"""

import numpy as np
import pytest


def off(kmajor, r, c):  # byte offset, as smem_offset
    return r * 64 + ((c ^ ((r >> 1) & 3)) << 4) if kmajor else r * 256 + ((c ^ (r & 7)) << 4)

def stage(op, kmajor):  # op: (rows=128, k=32) logical matrix -> smem (16-bit words)
    sm = np.full(4096, np.nan)
    for idx in range(512):
        if kmajor:
            r, c = idx // 4, idx % 4
            sm[off(True, r, c) // 2: off(True, r, c) // 2 + 8] = op[r, c * 8:c * 8 + 8]
        else:
            r, c = idx // 16, idx % 16
            sm[off(False, r, c) // 2: off(False, r, c) // 2 + 8] = op[c * 8:c * 8 + 8, r]
    assert not np.isnan(sm).any()
    return sm

def ldmatrix(sm, addrs, trans):
    """ldmatrix.x4 (.trans): addrs[lane] is the byte offset of the row that lane gives;
    regs[lane][q] is the pair of 16-bit elements register q of that lane receives."""
    regs = [[None] * 4 for _ in range(32)]
    for q in range(4):
        mat = np.array([sm[addrs[8 * q + r] // 2: addrs[8 * q + r] // 2 + 8] for r in range(8)])
        for l in range(32):
            g, t = l // 4, l % 4
            if trans:
                regs[l][q] = (mat[2 * t, g], mat[2 * t + 1, g])
            else:
                regs[l][q] = (mat[g, 2 * t], mat[g, 2 * t + 1])
    return regs

def run(akm, bkm, rng):
    A = rng.integers(-3, 4, (128, 32)).astype(float)
    B = rng.integers(-3, 4, (32, 128)).astype(float)
    sa, sb = stage(A, akm), stage(B.T, bkm)  # B staged as (n, k)
    C = np.zeros((128, 128))
    for warp in range(8):
        wm, wn = warp // 4, warp % 4
        acc = np.zeros((4, 4, 16, 8))
        for ks in range(2):
            af = []
            for mt in range(4):
                mb = wm * 64 + mt * 16
                addrs = []
                for l in range(32):
                    q, rr = l >> 3, l & 7
                    if akm:
                        addrs.append(off(True, mb + rr + (q & 1) * 8, ks * 2 + (q >> 1)))
                    else:
                        addrs.append(off(False, ks * 16 + (q >> 1) * 8 + rr, mb // 8 + (q & 1)))
                af.append(ldmatrix(sa, addrs, not akm))
            bf = [None] * 4
            for np_ in range(2):
                nb = wn * 32 + np_ * 16
                addrs = []
                for l in range(32):
                    q, rr = l >> 3, l & 7
                    if bkm:
                        addrs.append(off(True, nb + (q >> 1) * 8 + rr, ks * 2 + (q & 1)))
                    else:
                        addrs.append(off(False, ks * 16 + (q & 1) * 8 + rr, nb // 8 + (q >> 1)))
                r = ldmatrix(sb, addrs, not bkm)
                bf[np_ * 2] = [[r[l][0], r[l][1]] for l in range(32)]
                bf[np_ * 2 + 1] = [[r[l][2], r[l][3]] for l in range(32)]
            for mt in range(4):
                Am = np.zeros((16, 16))
                for l in range(32):
                    g, t = l // 4, l % 4
                    a = af[mt][l]
                    Am[g, 2 * t:2 * t + 2], Am[g + 8, 2 * t:2 * t + 2] = a[0], a[1]
                    Am[g, 2 * t + 8:2 * t + 10], Am[g + 8, 2 * t + 8:2 * t + 10] = a[2], a[3]
                for nt in range(4):
                    Bm = np.zeros((16, 8))
                    for l in range(32):
                        g, t = l // 4, l % 4
                        Bm[2 * t:2 * t + 2, g], Bm[2 * t + 8:2 * t + 10, g] = bf[nt][l][0], bf[nt][l][1]
                    acc[mt, nt] += Am @ Bm
        for mt in range(4):
            for nt in range(4):
                for l in range(32):
                    g, t = l // 4, l % 4
                    for e in range(4):
                        row = wm * 64 + mt * 16 + g + (8 if e >= 2 else 0)
                        col = wn * 32 + nt * 8 + 2 * t + (e & 1)
                        C[row, col] = acc[mt, nt, g + (8 if e >= 2 else 0), 2 * t + (e & 1)]
    return np.array_equal(C, A @ B)

@pytest.mark.parametrize("a_k_major", [True, False])
@pytest.mark.parametrize("b_k_major", [True, False])
def test_one_tile_of_the_mainloop_is_the_matrix_product(a_k_major, b_k_major):
    assert run(a_k_major, b_k_major, np.random.default_rng(0))


@pytest.mark.parametrize("k_major", [True, False])
def test_ldmatrix_row_groups_are_bank_conflict_free(k_major):
    # each group of 8 row addresses of one ldmatrix phase hits 8 distinct 16-byte slots of a
    # 128-byte line (all 32 banks once)
    rows = [(r, c) for c in range(4) for r in range(0, 128, 8)] if k_major else \
        [(r, c) for c in range(16) for r in range(0, 32, 8)]
    assert all(len({off(k_major, r0 + i, c) % 128 // 16 for i in range(8)}) == 8 for r0, c in rows)
