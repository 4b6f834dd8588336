"""
grimoire's C++ core (kernels for the CPU)
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['PackedBf16Weight', 'PackedInt8Weight', 'active_isa', 'adam_step', 'arma_residuals', 'attention_backward', 'attention_forward', 'available_cores', 'avg_pool2d', 'avg_pool2d_backward', 'batch_norm', 'batch_norm_backward', 'betainc', 'clip_grad_norm', 'compiler', 'conv2d', 'conv2d_backward', 'conv2d_backward_reference', 'conv2d_int8', 'conv2d_reference', 'cpu_features', 'cross_entropy', 'dequantize_int8', 'detected_isa', 'eigh_symmetric', 'enet_coordinate_descent', 'fma_peak_flops', 'forest_build', 'from_bf16', 'from_fp8', 'gammainc', 'gammaln', 'gelu', 'gelu_backward', 'gemm', 'gemm_bf16', 'gemm_fp8', 'gemm_int8', 'gemm_int8_reference', 'get_num_threads', 'jacobi_svd_sweeps', 'kalman_filter', 'kernel_families', 'kmeans_assign', 'layer_norm', 'layer_norm_backward', 'linear_attention_backward', 'linear_attention_forward', 'linear_bf16', 'linear_bf16_packed', 'linear_int8', 'linear_int8_packed', 'linear_svm_dcd', 'log_softmax', 'log_softmax_backward', 'matmul', 'max_pool2d', 'max_pool2d_backward', 'multi_tensor_adam_step', 'multi_tensor_sgd_step', 'ndtr', 'ndtri', 'nn_chain_linkage', 'num_threads_pinned', 'pack_bf16_weight', 'pack_int8_weight', 'pairwise_distances', 'pairwise_sq_distances', 'pdist_euclidean', 'quantize_int8', 'random_walks', 'rms_norm', 'rms_norm_backward', 'set_isa', 'set_num_threads', 'sgd_step', 'softmax', 'softmax_backward', 'spmm_csr', 'svd_bidiagonal', 'svm_kernel', 'svm_smo', 'to_bf16', 'to_fp8', 'tree_apply', 'tree_apply_binned', 'tree_build', 'tsne_binary_search', 'tsne_optimize', 'umap_optimize', 'unpin_num_threads', 'word2vec_sgns_train']
class PackedInt8Weight:
    """
    An int8 weight W (n, k) packed for the int8 GEMM path of this CPU (pack_int8_weight); immutable.
    """
    def __copy__(self) -> typing.Any:
        ...
    def __deepcopy__(self, memo: typing.Any) -> typing.Any:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def isa(self) -> str:
        """
        The gemm_int8 path the panels were packed for.
        """
    @property
    def nbytes(self) -> int:
        """
        Bytes held (the panels and a copy of W).
        """
    @property
    def shape(self) -> tuple:
        """
        W's shape: (n, k), or (O, C, KH, KW) for a convolution's weight.
        """
    @property
    def stale(self) -> bool:
        """
        Whether gemm_int8 now takes another path (set_isa): pack again.
        """
class PackedBf16Weight:
    """
    A weight W (n, k) rounded to bf16 and packed once for the bf16 GEMM path of this CPU (pack_bf16_weight); immutable.
    """
    def __copy__(self) -> typing.Any:
        ...
    def __deepcopy__(self, memo: typing.Any) -> typing.Any:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def isa(self) -> str:
        """
        The bf16 GEMM path the weight was packed for.
        """
    @property
    def nbytes(self) -> int:
        """
        Bytes held (the panels or rounded values, and W's bf16 codes).
        """
    @property
    def shape(self) -> tuple[int, int]:
        """
        (n, k): W's shape.
        """
    @property
    def stale(self) -> bool:
        """
        Whether the bf16 GEMM now takes another path (set_isa): pack again.
        """
def _exhaustive_check(what: str, saturate: bool) -> int:
    ...
def _set_norm_stream_threshold(bytes: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    layer_norm/rms_norm outputs of at least this many bytes use streaming stores; returns the old value (for benchmarks).
    """
def active_isa() -> str:
    ...
def adam_step(param: typing.Any, grad: typing.Any, m: typing.Any, v: typing.Any, step: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, decoupled: bool, amsgrad: bool, max_v: typing.Any) -> None:
    ...
def arma_residuals(w: typing.Any, mu: typing.SupportsFloat | typing.SupportsIndex, ar: typing.Any, ma: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    """
    Conditional ARMA residuals e_t (float64, C-contiguous 1-D arrays).
    """
def attention_backward(grad_out: typing.Any, q: typing.Any, k: typing.Any, v: typing.Any, out: typing.Any, lse: typing.Any, causal: bool = False, scale: typing.Any = None, mask: typing.Any = None) -> tuple:
    """
    Gradients (dq, dk, dv) of attention_forward.
    """
def attention_forward(q: typing.Any, k: typing.Any, v: typing.Any, causal: bool = False, scale: typing.Any = None, mask: typing.Any = None) -> tuple:
    """
    softmax(scale * q k^T + mask) v with grouped-query heads; returns (out, lse).
    """
def available_cores() -> int:
    ...
def avg_pool2d(x: typing.Any, kernel_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], count_include_pad: bool) -> numpy.typing.NDArray[numpy.float32]:
    ...
def avg_pool2d_backward(grad_out: typing.Any, input_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], kernel_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], count_include_pad: bool) -> numpy.typing.NDArray[numpy.float32]:
    ...
def batch_norm(x: typing.Any, weight: typing.Any, bias: typing.Any, running_mean: typing.Any, running_var: typing.Any, training: bool, momentum: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex) -> tuple:
    ...
def batch_norm_backward(grad_y: typing.Any, x: typing.Any, weight: typing.Any, save_mean: typing.Any, save_rstd: typing.Any, training: bool) -> tuple:
    ...
def betainc(a: typing.Any, b: typing.Any, x: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    """
    Regularised incomplete beta I_x(a, b) (float64, equal shapes).
    """
def clip_grad_norm(grads: list, max_norm: typing.SupportsFloat | typing.SupportsIndex, norm_type: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def conv2d(x: typing.Any, w: typing.Any, b: typing.Any, stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def conv2d_backward(grad_out: typing.Any, x: typing.Any, w: typing.Any, stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex, need_x: bool, need_w: bool, need_b: bool) -> tuple:
    ...
def conv2d_backward_reference(grad_out: typing.Any, x: typing.Any, w: typing.Any, stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex, need_x: bool, need_w: bool, need_b: bool) -> tuple:
    ...
def conv2d_int8(x: typing.Any, packed: PackedInt8Weight, w_scale: typing.Any, bias: typing.Any, stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], relu: bool) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def conv2d_reference(x: typing.Any, w: typing.Any, b: typing.Any, stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def cpu_features() -> dict:
    ...
def cross_entropy(logits: typing.Any, targets: typing.Any, reduction: str, ignore_index: typing.SupportsInt | typing.SupportsIndex, label_smoothing: typing.SupportsFloat | typing.SupportsIndex, return_grad: bool) -> typing.Any:
    ...
def dequantize_int8(q: typing.Any, scale: typing.Any, zero_point: typing.Any, axis: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def detected_isa() -> str:
    ...
def eigh_symmetric(a: typing.Any, vectors: bool = True) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Eigendecomposition of a symmetric float64 matrix; a (C-contiguous) is overwritten.
    """
def enet_coordinate_descent(X: typing.Any, y: typing.Any, coef: typing.Any, l1: typing.SupportsFloat | typing.SupportsIndex, l2: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, positive: bool = False) -> tuple[int, float]:
    """
    Elastic-net coordinate descent on Fortran-ordered X, coef updated in place; returns (sweeps, duality gap).
    """
def fma_peak_flops(iterations: typing.SupportsInt | typing.SupportsIndex = 20000000, threads: typing.SupportsInt | typing.SupportsIndex = 1) -> list[float]:
    """
    float32 FLOP per CPU-second of a loop of independent FMAs as wide as the gemm path in use (16 lanes on avx512, 8 on avx2), one value per thread (each thread's own CPU time); 0.0 on the scalar path.
    """
def forest_build(codes: typing.Any, n_bins: typing.Any, criterion: str, y: typing.Any, sample_weight: typing.Any, n_classes: typing.SupportsInt | typing.SupportsIndex, seeds: typing.Any, bootstrap: bool, max_samples: typing.SupportsInt | typing.SupportsIndex, max_depth: typing.SupportsInt | typing.SupportsIndex = -1, min_samples_split: typing.SupportsInt | typing.SupportsIndex = 2, min_samples_leaf: typing.SupportsInt | typing.SupportsIndex = 1, max_features: typing.SupportsInt | typing.SupportsIndex = 0, max_leaf_nodes: typing.SupportsInt | typing.SupportsIndex = -1, min_impurity_decrease: typing.SupportsFloat | typing.SupportsIndex = 0.0, return_inbag: bool = False) -> tuple[list, typing.Any]:
    """
    Grow len(seeds) trees in parallel (one per thread); returns (list of node-array dicts, in-bag counts or None).
    """
def from_bf16(x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def from_fp8(codes: typing.Any, fmt: str) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def gammainc(a: typing.Any, x: typing.Any, upper: bool) -> numpy.typing.NDArray[numpy.float64]:
    """
    Regularised incomplete gamma: P(a, x), or Q(a, x) with upper=True (float64, equal shapes).
    """
def gammaln(x: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    """
    log |Gamma(x)| element-wise (float64, C-contiguous).
    """
def gelu(x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    """
    Exact GELU y = x Phi(x) of a float32 C-contiguous array (any shape).
    """
def gelu_backward(grad_y: typing.Any, x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    """
    grad_x = grad_y (Phi(x) + x phi(x)): the gradient of gelu at its input x.
    """
def gemm(a: typing.Any, b: typing.Any, c: typing.Any = None, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, trans_a: bool = False, trans_b: bool = False) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def gemm_bf16(a: typing.Any, b: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
    ...
def gemm_fp8(a: typing.Any, b: typing.Any, scale_a: typing.SupportsFloat | typing.SupportsIndex, scale_b: typing.SupportsFloat | typing.SupportsIndex, fmt_a: str, fmt_b: str) -> numpy.typing.NDArray[numpy.float32]:
    ...
def gemm_int8(a: typing.Any, b: typing.Any, trans_b: bool) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def gemm_int8_reference(a: typing.Any, b: typing.Any, emulate_vnni: bool = False) -> numpy.typing.NDArray[numpy.int32]:
    ...
def get_num_threads() -> int:
    ...
def jacobi_svd_sweeps(bt: typing.Any, vt: typing.Any, max_sweeps: typing.SupportsInt | typing.SupportsIndex = 60, tol: typing.SupportsFloat | typing.SupportsIndex = 1e-15) -> int:
    """
    One-sided Jacobi sweeps on the rows of bt (the columns of B), rotating vt's rows alike.
    """
def kalman_filter(y: typing.Any, Z: typing.Any, T: typing.Any, RQR: typing.Any, h: typing.SupportsFloat | typing.SupportsIndex, a0: typing.Any, P0: typing.Any, burn: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[float, numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Kalman filter of y_t = Z a_t + N(0, h), a_{t+1} = T a_t + N(0, RQR) from a_0 ~ N(a0, P0) (float64, C-contiguous). Returns (loglik over t >= burn, innovations v, their variances F, a_{n+1|n}, P_{n+1|n}); loglik is NaN if some F_t <= 0.
    """
def kernel_families() -> dict:
    """
    {family: ([compiled paths], path in use)}
    """
def kmeans_assign(X: typing.Any, x_sqnorm: typing.Any, centers: typing.Any, sample_weight: typing.Any = None, accumulate: bool = True) -> tuple[numpy.typing.NDArray[numpy.int32], numpy.typing.NDArray[numpy.float64], float, typing.Any, typing.Any]:
    """
    Nearest centre of each row: (labels int32, squared distance, inertia, per-cluster weighted sums or None, per-cluster weights or None).
    """
def layer_norm(x: typing.Any, weight: typing.Any, bias: typing.Any, eps: typing.SupportsFloat | typing.SupportsIndex, out: typing.Any = None) -> tuple:
    ...
def layer_norm_backward(grad_y: typing.Any, x: typing.Any, weight: typing.Any, mean: typing.Any, rstd: typing.Any) -> tuple:
    ...
def linear_attention_backward(grad_out: typing.Any, q: typing.Any, k: typing.Any, v: typing.Any, causal: bool = False, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-06) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    """
    Gradients (dq, dk, dv) of linear_attention_forward.
    """
def linear_attention_forward(q: typing.Any, k: typing.Any, v: typing.Any, causal: bool = False, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-06) -> numpy.typing.NDArray[numpy.float32]:
    """
    out_i = phi(q_i)' S_i / (phi(q_i)' z_i + eps), phi = elu + 1 (float32, C-contiguous).
    """
def linear_bf16(x: typing.Any, w: typing.Any, bias: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def linear_bf16_packed(x: typing.Any, packed: PackedBf16Weight, bias: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def linear_int8(x: typing.Any, w_q: typing.Any, w_scale: typing.Any, bias: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def linear_int8_packed(x: typing.Any, packed: PackedInt8Weight, w_scale: typing.Any, bias: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def linear_svm_dcd(X: typing.Any, y: typing.Any, C: typing.Any, hinge: bool, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], int]:
    """
    Linear SVM by dual coordinate descent: returns (w (d), sweeps).
    """
def log_softmax(x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def log_softmax_backward(grad_y: typing.Any, y: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def matmul(a: typing.Any, b: typing.Any) -> typing.Any:
    ...
def max_pool2d(x: typing.Any, kernel_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stride: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], padding: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.int64]]:
    ...
def max_pool2d_backward(grad_out: typing.Any, indices: typing.Any, input_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> numpy.typing.NDArray[numpy.float32]:
    ...
def multi_tensor_adam_step(params: list, grads: list, ms: list, vs: list, step: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, decoupled: bool, amsgrad: bool, max_vs: typing.Any) -> None:
    ...
def multi_tensor_sgd_step(params: list, grads: list, momentum_bufs: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, dampening: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, weight_decay: typing.SupportsFloat | typing.SupportsIndex, first_step: bool) -> None:
    ...
def ndtr(x: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    """
    The standard normal cdf Phi(x) (float64, C-contiguous).
    """
def ndtri(q: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    """
    The standard normal quantile Phi^-1(q) (float64, C-contiguous; NaN outside [0, 1]).
    """
def nn_chain_linkage(dist: typing.Any, method: str) -> numpy.typing.NDArray[numpy.float64]:
    """
    NN-chain merges (n-1, 4) as (slot a, slot b, height, size), unsorted; dist is overwritten.
    """
def num_threads_pinned() -> bool:
    ...
def pack_bf16_weight(w: typing.Any) -> PackedBf16Weight:
    ...
def pack_int8_weight(w_q: typing.Any) -> PackedInt8Weight:
    ...
def pairwise_distances(x: typing.Any, y: typing.Any, metric: str = 'euclidean', same_input: bool = False) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def pairwise_sq_distances(X: typing.Any, x_sqnorm: typing.Any, centers: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    """
    Squared Euclidean distances (n, m) from each row of X to each row of centers.
    """
def pdist_euclidean(X: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
    """
    Condensed Euclidean distances (n (n-1) / 2,), scipy.spatial.distance.pdist's layout.
    """
def quantize_int8(x: typing.Any, symmetric: bool, axis: typing.Any, scale: typing.Any, zero_point: typing.Any) -> tuple:
    ...
def random_walks(indptr: typing.Any, indices: typing.Any, cumulative_weights: typing.Any, starts: typing.Any, walk_length: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex = 1.0, q: typing.SupportsFloat | typing.SupportsIndex = 1.0, seed: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int64]:
    ...
def rms_norm(x: typing.Any, weight: typing.Any, eps: typing.SupportsFloat | typing.SupportsIndex, out: typing.Any = None) -> tuple:
    ...
def rms_norm_backward(grad_y: typing.Any, x: typing.Any, weight: typing.Any, rstd: typing.Any) -> tuple:
    ...
def set_isa(isa: str) -> None:
    """
    Limit the kernels to an instruction set: 'scalar', 'avx2' or 'avx512'.
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Pin the threads used by every kernel of the core (overrides OMP_NUM_THREADS and threadpoolctl).
    """
def sgd_step(param: typing.Any, grad: typing.Any, momentum_buf: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, dampening: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, weight_decay: typing.SupportsFloat | typing.SupportsIndex, first_step: bool) -> None:
    ...
def softmax(x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def softmax_backward(grad_y: typing.Any, y: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def spmm_csr(indptr: typing.Any, indices: typing.Any, values: typing.Any, x: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
    """
    Y = A @ X for a CSR matrix A (float32 values or all ones) and a dense float32 X.
    """
def svd_bidiagonal(a: typing.Any, compute_uv: bool = True, full_matrices: bool = False) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    SVD (u, s, vt) of a float64 (m, n) matrix with m >= n; a (C-contiguous) is overwritten.
    """
def svm_kernel(A: typing.Any, B: typing.Any, kernel: str, gamma: typing.SupportsFloat | typing.SupportsIndex, coef0: typing.SupportsFloat | typing.SupportsIndex, degree: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    Kernel matrix K (m, s) between the rows of A (m, d) and B (s, d).
    """
def svm_smo(X: typing.Any, y: typing.Any, C: typing.Any, kernel: str, gamma: typing.SupportsFloat | typing.SupportsIndex, coef0: typing.SupportsFloat | typing.SupportsIndex, degree: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, cache_size: typing.SupportsFloat | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], float, int]:
    """
    SMO (WSS3, LRU kernel cache) for the C-SVC dual: returns (alpha (n), rho, iterations).
    """
def to_bf16(x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def to_fp8(x: typing.Any, fmt: str, saturate: bool) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    ...
def tree_apply(X: typing.Any, children_left: typing.Any, children_right: typing.Any, feature: typing.Any, threshold: typing.Any) -> numpy.typing.NDArray[numpy.int64]:
    """
    Leaf index reached by each row of X (float64, any strides): x[feature] <= threshold goes left.
    """
def tree_apply_binned(codes: typing.Any, children_left: typing.Any, children_right: typing.Any, feature: typing.Any, threshold_bin: typing.Any) -> numpy.typing.NDArray[numpy.int64]:
    """
    Leaf index reached by each column of codes (n_features, n_samples) uint16: code <= threshold_bin goes left.
    """
def tree_build(codes: typing.Any, n_bins: typing.Any, criterion: str, y: typing.Any, h: typing.Any = None, sample_weight: typing.Any = None, sample_indices: typing.Any = None, n_classes: typing.SupportsInt | typing.SupportsIndex = 0, max_depth: typing.SupportsInt | typing.SupportsIndex = -1, min_samples_split: typing.SupportsInt | typing.SupportsIndex = 2, min_samples_leaf: typing.SupportsInt | typing.SupportsIndex = 1, max_features: typing.SupportsInt | typing.SupportsIndex = 0, max_leaf_nodes: typing.SupportsInt | typing.SupportsIndex = -1, min_impurity_decrease: typing.SupportsFloat | typing.SupportsIndex = 0.0, l2: typing.SupportsFloat | typing.SupportsIndex = 0.0, seed: typing.SupportsInt | typing.SupportsIndex = 0, num_threads: typing.SupportsInt | typing.SupportsIndex = 1) -> dict:
    """
    Grow one CART tree on binned features (uint16 codes; uint8 also for 'newton'); returns its node arrays as a dict, for 'newton' with 'leaf': the leaf each sample (column of codes) reaches.
    """
def tsne_binary_search(dist2: typing.Any, perplexity: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    Conditional probabilities p_j|i (n, k) from squared neighbour distances, calibrated to the perplexity.
    """
def tsne_optimize(indptr: typing.Any, indices: typing.Any, values: typing.Any, Y: typing.Any, max_iter: typing.SupportsInt | typing.SupportsIndex, exaggeration_iter: typing.SupportsInt | typing.SupportsIndex, early_exaggeration: typing.SupportsFloat | typing.SupportsIndex, learning_rate: typing.SupportsFloat | typing.SupportsIndex, theta: typing.SupportsFloat | typing.SupportsIndex, momentum_early: typing.SupportsFloat | typing.SupportsIndex = 0.5, momentum_late: typing.SupportsFloat | typing.SupportsIndex = 0.8, min_gain: typing.SupportsFloat | typing.SupportsIndex = 0.01) -> float:
    """
    Barnes-Hut t-SNE gradient descent on Y (n, 2) in place; returns the final KL divergence.
    """
def umap_optimize(head: typing.Any, tail: typing.Any, epochs_per_sample: typing.Any, Y: typing.Any, Y_tail: typing.Any, n_epochs: typing.SupportsInt | typing.SupportsIndex, a: typing.SupportsFloat | typing.SupportsIndex, b: typing.SupportsFloat | typing.SupportsIndex, gamma: typing.SupportsFloat | typing.SupportsIndex = 1.0, initial_alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, negative_sample_rate: typing.SupportsFloat | typing.SupportsIndex = 5.0, seed: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    UMAP SGD layout, Y updated in place; Y_tail None (fit: edges inside Y) or a fixed embedding (transform).
    """
def unpin_num_threads() -> None:
    """
    Follow OpenMP's thread count again (OMP_NUM_THREADS, omp_set_num_threads, threadpoolctl).
    """
def word2vec_sgns_train(w_in: typing.Any, w_out: typing.Any, corpus: typing.Any, neg_table: typing.Any, keep_prob: typing.Any, window: typing.SupportsInt | typing.SupportsIndex = 5, negative: typing.SupportsInt | typing.SupportsIndex = 5, epochs: typing.SupportsInt | typing.SupportsIndex = 1, lr: typing.SupportsFloat | typing.SupportsIndex = 0.025, lr_min: typing.SupportsFloat | typing.SupportsIndex = 0.0001, seed: typing.SupportsInt | typing.SupportsIndex = 1, num_threads: typing.SupportsInt | typing.SupportsIndex = 1) -> float:
    """
    Skip-gram negative-sampling SGD over the corpus; updates w_in and w_out in place and returns the mean loss per pair of the last epoch. num_threads=1 (the default) is deterministic; more threads update the shared vectors without locks (Hogwild), so results then vary from run to run.
    """
compiler: str = 'GNU 12.2.0'
