// The linalg family's float64 microkernels, one table per ISA (private to cpp/src). The drivers
// (linalg.cpp: blocked Householder reductions on the GEMM, the tridiagonal QL and bidiagonal QR
// iterations, one-sided Jacobi) own threading and blocking; a table entry works on one or two
// contiguous rows, or replays a recorded sequence of plane rotations on a block of columns.
#pragma once

#include <cstdint>

namespace grimoire::linalg_detail {

// A plane rotation of rows a and b: a' = c a + s b, b' = c b - s a.
struct Rotation {
  int64_t a, b;
  double c, s;
};

struct LinalgKernels {
  double (*dot)(const double* x, const double* y, int64_t n);
  void (*axpy)(double alpha, const double* x, double* y, int64_t n);  // y += alpha x
  // y (n) += sum_r coef[r] a[r * ld ...] over `rows` rows (y += A^T coef), and
  // x[r] = a[r * ld ...] . p (n) for r < rows (x = A p): four rows a pass, so the vector is
  // loaded once for four rows of A.
  void (*gemv_t)(const double* a, int64_t ld, const double* coef, int64_t rows, double* y, int64_t n);
  void (*gemv_n)(const double* a, int64_t ld, const double* p, int64_t n, double* x, int64_t rows);
  // Returns row . x and does y += alpha row, in one pass over row (a symmetric matrix-vector
  // product from its lower triangle: each stored entry serves its row and its column).
  double (*dot_axpy)(const double* row, const double* x, double* y, int64_t n, double alpha);
  // The same for four rows (row stride ld) at once: dots[r] = row_r . x, y += sum_r alpha[r] row_r.
  void (*dot_axpy4)(const double* a, int64_t ld, const double* x, double* y, int64_t n, const double* alpha,
                    double* dots);
  // x' = c x - s y, y' = s x + c y (the Jacobi sweeps' convention).
  void (*rotate)(double* x, double* y, int64_t n, double c, double s);
  // Applies rots[0], rots[1], ... in order to the rows of a (rows x w) block, row stride w.
  void (*replay)(double* block, int64_t w, const Rotation* rots, int64_t count);
  // The block width replay is fastest at (a whole number of vectors it keeps in registers).
  int64_t replay_width;
};

extern const LinalgKernels kernels_scalar;
extern const LinalgKernels kernels_avx2;
extern const LinalgKernels kernels_avx512;

}  // namespace grimoire::linalg_detail
