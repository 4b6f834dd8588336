"""Reverse-mode automatic differentiation on arrays (primer 2.3).

A :class:`Tensor` holds an array (float32 unless told otherwise) of an array-API namespace: NumPy
on the CPU, CuPy on a GPU (``Tensor.to("cuda")``), any array-API library in tests
(``array_api_strict``). Every op calls the standard functions of its data's namespace
(``xp = _ns(x)``); the kernel families dispatch on the arrays themselves (``grimoire.kernels``)
and :func:`_wrap` brings their results back into the tensor's namespace. And, when it was made by
an operation on tensors that require gradients, the tensors it came from (``_parents``) and a
``_backward`` function that turns the gradient of the output into the gradients of the parents
(the chain rule, primer 2.3.3). ``backward()`` sorts the graph topologically and walks it in
reverse, as micrograd does, but on arrays. Each op's backward sits right next to its forward.

Gradients of intermediate nodes live only inside one ``backward()`` call (they are never
stored on the node), so a second ``backward()`` through a shared sub-graph starts clean; only
leaves (tensors created by the user, e.g. parameters) accumulate into ``.grad``, as in PyTorch.

Example (primer 2.3.3): f(x, y) = x^3 + 2xy + y at (x, y) = (2, 3)

>>> x = Tensor(2.0, requires_grad=True); y = Tensor(3.0, requires_grad=True)
>>> f = x ** 3 + 2 * x * y + y
>>> f.backward(); float(x.grad), float(y.grad)   # 3x^2 + 2y, 2x + 1
(18.0, 5.0)
"""

from __future__ import annotations

import contextlib
import math
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union

import array_api_compat
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _array
from ._array import namespace as _namespace
from .kernels import gelu as _gelu_kernel
from .kernels import gelu_backward as _gelu_backward_kernel
from .kernels import gemm as _gemm

#: An array of any array-API namespace (NumPy, CuPy, array_api_strict, ...).
Array = Any
#: Axes of a reduction: one, several, or all (None).
Axis = int | tuple[int, ...] | None
#: A Tensor, or what becomes a constant one (an array of any namespace, a list, a scalar).
TensorLike = Union["Tensor", ArrayLike]


def _numpy_namespace() -> types.SimpleNamespace:
    """NumPy as the namespace of the NumPy path: NumPy >= 2.1 is an array-API namespace itself
    (older ones through array_api_compat), with the shape functions every op calls made ndarray
    method calls (np.reshape, np.permute_dims and np.sum wrap the method in several Python frames:
    4-7x the cost on small tensors), so an op on NumPy data costs what it did before."""
    base = np if hasattr(np, "astype") else array_api_compat.numpy
    ns = types.SimpleNamespace(**{k: getattr(base, k) for k in dir(base) if not k.startswith("__")})
    ns.reshape = lambda a, shape, copy=None: a.reshape(shape)
    ns.permute_dims = lambda a, axes: a.transpose(axes)
    ns.sum = lambda a, axis=None, keepdims=False, **kw: a.sum(axis=axis, keepdims=keepdims, **kw)
    return ns


_NP = _numpy_namespace()


def _ns(a):
    """The array namespace of tensor data ``a`` (NumPy for the NumPy scalars 0-d arithmetic gives)."""
    if type(a) is np.ndarray or isinstance(a, np.generic):
        return _NP
    return _namespace(a)


def _wrap(xp, a):
    """A kernel's result ``a`` (a NumPy array for host inputs) in namespace ``xp``: itself for NumPy
    and CuPy, a zero-copy ``xp.asarray`` for other CPU namespaces (array_api_strict)."""
    if xp is _NP or type(a) is not np.ndarray:
        return a
    return xp.asarray(a)

_GRAD_ENABLED = True
_BACKWARD_DEPTH = 0
_BACKWARD_CALLBACKS: list[Callable[[], None]] = []


def queue_callback(fn: Callable[[], None]) -> None:
    """Run ``fn()`` once when the current (outermost) ``backward()`` has finished, as
    ``torch.autograd.Variable._execution_engine.queue_callback``: DDP waits for its gradient
    reductions there."""
    _BACKWARD_CALLBACKS.append(fn)


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager: operations inside record no graph (inference, optimizer updates)."""
    global _GRAD_ENABLED
    prev, _GRAD_ENABLED = _GRAD_ENABLED, False
    try:
        yield
    finally:
        _GRAD_ENABLED = prev


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Context manager: re-enable graph recording inside a ``no_grad`` block."""
    global _GRAD_ENABLED
    prev, _GRAD_ENABLED = _GRAD_ENABLED, True
    try:
        yield
    finally:
        _GRAD_ENABLED = prev


def is_grad_enabled() -> bool:
    return _GRAD_ENABLED


_AUTOCAST = False


@contextlib.contextmanager
def autocast(enabled: bool = True) -> Iterator[None]:
    """Mixed precision (primer 6.5.5): inside, linear layers and convolutions take bfloat16
    operands (rounded to nearest even, accumulated in float32); parameters stay float32, the
    master copy the optimizer updates."""
    global _AUTOCAST
    prev, _AUTOCAST = _AUTOCAST, enabled
    try:
        yield
    finally:
        _AUTOCAST = prev


def autocast_enabled() -> bool:
    return _AUTOCAST


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float32 -> the nearest bfloat16 (round to nearest even, NaN kept), as float32 values:
    the core's ``to_bf16`` / ``from_bf16`` conversions."""
    from .kernels import from_bf16, to_bf16

    xp = _ns(x)
    if x.dtype != xp.float32:
        x = xp.astype(x, xp.float32)
    return _wrap(xp, from_bf16(to_bf16(_array.ascontiguous(xp, x))))


def manual_seed(seed: int) -> None:
    """Seed the generator every random layer initialisation and dropout mask draws from."""
    global _rng
    _rng = np.random.default_rng(seed)


_rng = np.random.default_rng(0)


def rng() -> np.random.Generator:
    """The global generator seeded by :func:`manual_seed`."""
    return _rng


def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum a gradient over the axes NumPy broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    xp = _ns(g)
    extra = g.ndim - len(shape)
    if extra:
        g = xp.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    return xp.reshape(g, shape)


def promote(xp: Any, a: Array, b: Array) -> tuple[Array, Array]:
    """``a`` and ``b`` in their common dtype (NumPy's promotion: float32 with float64 gives
    float64), for kernels that take one dtype; the same arrays when the dtypes agree. A gradient
    computed in the common dtype is cast back to each operand's own dtype by its backward."""
    if a.dtype == b.dtype:
        return a, b
    dt = xp.result_type(a.dtype, b.dtype)
    return xp.astype(a, dt, copy=False), xp.astype(b, dt, copy=False)


def _is_floating(a) -> bool:
    """Whether array ``a`` has a real or complex floating dtype (any namespace)."""
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype.kind in "fc"
    return _ns(a).isdtype(a.dtype, ("real floating", "complex floating"))


def _is_host(x) -> bool:
    """Whether ``x`` is NumPy data or a Python object NumPy converts (not another namespace's
    array: NumPy scalars have ``__array_namespace__`` too)."""
    return isinstance(x, (np.ndarray, np.generic)) or not hasattr(x, "__array_namespace__")


def _arr(x, dtype=None, like=None):
    """An operand as an array: a Tensor's data, or ``x`` converted (float64 and integer scalars
    become float32); host data goes into the namespace of ``like`` (a tensor's data)."""
    if isinstance(x, Tensor):
        return x.data
    if not _is_host(x):
        xp = _ns(x)
        return x if dtype is None else xp.astype(x, _dtype_in(xp, dtype))
    a = np.asarray(x)
    if like is not None and _ns(like) is not _NP:  # host data beside non-NumPy data
        xp = _ns(like)
        a = xp.asarray(a)
        return a if dtype is None else xp.astype(a, _dtype_in(xp, dtype))
    if dtype is not None:
        return a.astype(dtype, copy=False)
    if a.dtype == np.float64 or a.dtype.kind in "iub" and a.ndim == 0:
        return a.astype(np.float32)
    return a


_DEFAULT_XP = None  # the namespace new tensors made from host data go to (None: NumPy)


def set_default_namespace(xp: Any) -> None:
    """Where tensors made from NumPy arrays, lists and scalars keep their data: ``None`` for NumPy
    (the default), or an array-API namespace (the test mode ``GRIMOIRE_TEST_NAMESPACE`` runs the
    nn and autograd tests with ``array_api_strict``, which refuses any NumPy-only call)."""
    global _DEFAULT_XP
    _DEFAULT_XP = xp


def _dtype_in(xp, dtype):
    """``dtype`` (a NumPy dtype or one of ``xp``'s) as a dtype of namespace ``xp``."""
    if xp is _NP or xp is np:
        return dtype
    try:
        return getattr(xp, np.dtype(dtype).name)
    except TypeError:  # already one of xp's dtypes
        return dtype


def _is_device(target) -> bool:
    if isinstance(target, str):
        return target.split(":")[0] in ("cpu", "cuda")
    return type(target).__name__ == "Device"  # a CuPy device


class _SliceGrad:
    """A gradient that is ``grad`` at ``base[index]`` (a basic index) and zero elsewhere: what
    slicing's backward returns, so the pieces of one tensor (``split``'s q, k, v) are written into
    one buffer instead of a zero-filled array each and their sums."""

    __slots__ = ("base", "index", "grad")

    def __init__(self, base, index, grad):
        self.base, self.index, self.grad = base, index, grad


def _accumulate(grads: dict, owned: set, k: int, pg) -> None:
    """Add the gradient ``pg`` into ``grads[k]``: in place into a buffer this backward allocated
    (``owned``), otherwise into a new one (a parent's gradient may be shared: add's backward
    returns g twice)."""
    have = grads.get(k)
    if type(pg) is _SliceGrad:
        if k not in owned:
            buf = _ns(pg.base).zeros_like(pg.base)
            grads[k] = buf if have is None else buf + have
            owned.add(k)
        grads[k][pg.index] += pg.grad
    elif have is None:
        grads[k] = pg
    elif k in owned and have.dtype == pg.dtype and have.shape == pg.shape:
        have += pg
    else:
        grads[k] = have + pg
        owned.add(k)


class Tensor:
    """An array with an optional gradient: ``Tensor(data, requires_grad=False, dtype=None)``.

    As ``torch.tensor``: ``data`` is **copied** (the tensor never shares the caller's array, so
    an optimizer step does not change it; :func:`from_numpy` shares instead), and the dtype
    follows ``data``: a NumPy array or scalar keeps its dtype (float64 stays float64, int64
    stays int64), while Python numbers and (nested) lists, which have none, become float32.
    ``dtype`` casts. Only a floating-point tensor can require grad.

    ``data`` may be an array of any array-API namespace (NumPy, CuPy, array_api_strict): the
    copy stays in that namespace and on that device; ops run there. Mixed dtypes promote as in
    NumPy (a float64 input times a float32 weight gives float64; the gradient of the float32
    weight is float32 again).
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "_op", "__weakref__")
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data: ArrayLike | Tensor, requires_grad: bool = False, dtype: DTypeLike = None):
        if isinstance(data, Tensor):
            data = data.data
        if not _is_host(data):  # another namespace's array: a copy there
            xp = _ns(data)
            a = xp.asarray(data, dtype=None if dtype is None else _dtype_in(xp, dtype), copy=True)
        else:
            if dtype is None and not hasattr(data, "dtype"):  # Python numbers and lists: float32
                a = np.array(data)
                if a.dtype.kind in "fiub":
                    a = a.astype(np.float32, copy=False)
            else:
                a = np.array(data, dtype=dtype)  # a copy, in data's own dtype unless told
            if _DEFAULT_XP is not None:
                a = _DEFAULT_XP.asarray(a)
        self.data = a
        self.grad = None
        self.requires_grad = False
        self.requires_grad_(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable | None = None
        self._op = ""

    # ---------------------------------------------------------------- graph plumbing
    @staticmethod
    def _make(data, parents: tuple, backward: Callable, op: str = "") -> Tensor:
        """The output of an op: records parents and backward only when a parent needs a grad."""
        out = Tensor.__new__(Tensor)
        out.data = data
        out.grad = None
        out._op = op
        if _GRAD_ENABLED and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = parents
            out._backward = backward
        else:
            out.requires_grad = False
            out._parents = ()
            out._backward = None
        return out

    def backward(self, grad: ArrayLike | None = None) -> None:
        """Backpropagate from this tensor: leaves that require grad accumulate into ``.grad``.

        ``grad`` defaults to 1 for a single-element tensor (a loss).
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no graph was recorded)")
        if grad is None:
            if math.prod(self.data.shape) != 1:
                raise RuntimeError(f"backward: grad must be given for a non-scalar output {self.shape}")
            grad = _ns(self.data).ones_like(self.data)
        else:
            grad = _ns(self.data).reshape(_arr(grad, self.data.dtype, like=self.data), self.data.shape)
        order: list[Tensor] = []
        seen: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:  # iterative post-order DFS (deep graphs such as RNNs overflow recursion)
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for p in node._parents:
                if p.requires_grad and id(p) not in seen:
                    stack.append((p, False))
        global _BACKWARD_DEPTH
        _BACKWARD_DEPTH += 1
        try:
            self._run_backward(order, grad)
        finally:
            _BACKWARD_DEPTH -= 1
        if _BACKWARD_DEPTH == 0:  # the outermost backward (checkpoint() nests one) is done
            while _BACKWARD_CALLBACKS:
                _BACKWARD_CALLBACKS.pop(0)()

    def _run_backward(self, order: list[Tensor], grad) -> None:
        grads: dict = {id(self): grad}
        owned: set[int] = set()  # ids whose gradient buffer this loop allocated (no one else holds it)
        for node in reversed(order):
            k = id(node)
            g = grads.pop(k, None)
            if g is None:
                continue
            if node._backward is None:  # a leaf: accumulate (a private copy unless g is ours)
                if node.grad is None:
                    mine = k in owned and g.dtype == node.data.dtype
                    node.grad = g if mine else _ns(g).asarray(g, dtype=node.data.dtype, copy=True)
                else:
                    node.grad += g
                # Reverse topological order: this leaf's gradient is complete now (DDP starts
                # reducing it while the rest of backward runs).
                for hook in getattr(node, "_grad_hooks", ()):
                    hook(node)
                continue
            if g.dtype != node.data.dtype:  # a gradient has its tensor's dtype (as in torch)
                g = _ns(g).astype(g, node.data.dtype)
            pgrads = node._backward(g)
            for p, pg in zip(node._parents, pgrads, strict=True):
                if pg is not None and p.requires_grad:
                    _accumulate(grads, owned, id(p), pg)

    def detach(self) -> Tensor:
        """The same data (shared memory, no copy), cut from the graph."""
        return Tensor._make(self.data, (), None)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Make this leaf record a graph (or stop); only floating-point tensors can."""
        if flag and not _is_floating(self.data):
            raise TypeError(
                f"requires_grad=True needs a floating-point tensor, got dtype {self.data.dtype} "
                "(only floating-point tensors have gradients; cast with dtype=np.float32)"
            )
        self.requires_grad = bool(flag)
        return self

    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    # ---------------------------------------------------------------- views on the data
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self._backward is None

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return math.prod(self.data.shape)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        return self.data.shape[0]

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (a copy from a GPU; the same memory on the CPU)."""
        return _array.to_host(self.data)

    def item(self) -> float:
        return self.numpy().item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __array_ufunc__(self, ufunc, method: str, *inputs, **kwargs):
        """NumPy ufuncs on tensors (``np.exp(t)``, ``ndarray + t``, ``np.less(a, t)``).

        A plain call of a ufunc that has a Tensor op (add, subtract, multiply, divide, power,
        matmul, negative, exp, log, sqrt, tanh, absolute and the comparisons) *is* that op: a
        Tensor comes back (comparisons: a boolean array), with the graph when an input requires
        grad, exactly as ``a + t`` would. Any other ufunc, method (``np.add.reduce``) or keyword
        (``out=``, ``dtype=``) computes on the data and returns NumPy arrays, which would drop a
        tensor from the graph: with grad enabled, a tensor that requires grad is refused with a
        TypeError (use the Tensor method, or ``t.detach().numpy()``)."""
        op = _UFUNC_OPS.get(ufunc) if method == "__call__" and not kwargs else None
        if op is not None:
            return op(*inputs)
        _refuse_graph_tensors(f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}"),
                              inputs + tuple(kwargs.get("out", ())))
        inputs = _host_args(inputs)
        if "out" in kwargs:
            kwargs["out"] = _host_args(kwargs["out"])
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """NumPy functions on tensors (``np.concatenate``, ``np.mean``, ``np.allclose`` ...) compute
        on the data and return NumPy arrays, as they do for PyTorch tensors. That would drop a
        tensor from the graph, so with grad enabled a tensor that requires grad is refused with a
        TypeError naming the way out (the Tensor method or grimoire function, or
        ``t.detach().numpy()``). ``np.asarray(t)`` is not a function call: it reads the data."""
        _refuse_graph_tensors(f"numpy.{func.__name__}", (args, kwargs))
        return func(*_host_args(args), **_host_args(kwargs))

    def __dlpack__(self, **kwargs):
        """Export the data through DLPack (``np.from_dlpack(t)``, ``torch.from_dlpack(t)``, CuPy):
        the consumer shares the memory, no copy. A tensor that requires grad is refused, as in
        PyTorch: the consumer would write behind the graph's back; export ``t.detach()``."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't export a Tensor that requires grad through DLPack: use t.detach() (the same memory)"
            )
        data = self.data
        if isinstance(data, np.generic):  # a 0-d result of NumPy arithmetic: no buffer to share
            data = np.asarray(data)
        return data.__dlpack__(**{k: a for k, a in kwargs.items() if a is not None})

    def __dlpack_device__(self):
        """The DLPack device of the data: ``(1, 0)`` on the CPU, ``(2, n)`` on CUDA device n."""
        data = self.data
        return (np.asarray(data) if isinstance(data, np.generic) else data).__dlpack_device__()

    def __repr__(self) -> str:
        g = ", requires_grad=True" if self.requires_grad else ""
        where = "" if self.device == "cpu" else f", device={self.device!r}"
        return f"Tensor({np.array2string(self.numpy(), precision=4, threshold=20)}{where}{g})"

    def __hash__(self):
        return id(self)

    def float(self) -> Tensor:
        return self.to(np.float32)

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda:N"``: where the data lives."""
        return _array.device(self.data)

    def to(self, target: DTypeLike | str | object) -> Tensor:
        """A dtype cast (``t.to(np.float16)``) or a move (``t.to("cuda")``, ``"cpu"``, ``"cuda:1"``,
        a CuPy device); differentiable: the gradient is cast or moved back. A move to where the
        data already is returns ``self``."""
        if _is_device(target):
            moved = _array.to_device(self.data, target)
            if moved is self.data:
                return self
            src = self.device
            return Tensor._make(moved, (self,), lambda g: (_array.to_device(g, src),), "to")
        xp = _ns(self.data)
        src = self.data.dtype
        return Tensor._make(
            xp.astype(self.data, _dtype_in(xp, target)), (self,), lambda g: (xp.astype(g, src),), "cast"
        )

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> Tensor:
        return self.to("cuda" if device is None else f"cuda:{device}")

    def argmax(self, axis: int | None = None) -> Array:
        return _ns(self.data).argmax(self.data, axis=axis)

    # comparisons give plain boolean arrays (no gradient flows through them)
    def __eq__(self, o):  # noqa: D105
        return self.data == _arr(o, like=self.data)

    def __ne__(self, o):
        return self.data != _arr(o, like=self.data)

    def __lt__(self, o):
        return self.data < _arr(o, like=self.data)

    def __le__(self, o):
        return self.data <= _arr(o, like=self.data)

    def __gt__(self, o):
        return self.data > _arr(o, like=self.data)

    def __ge__(self, o):
        return self.data >= _arr(o, like=self.data)

    # ---------------------------------------------------------------- arithmetic
    def __add__(self, o) -> Tensor:
        if not isinstance(o, Tensor):  # a constant: broadcasting may still widen self
            a = self.shape
            return Tensor._make(
                self.data + _operand(o, self.data), (self,), lambda g: (unbroadcast(g, a),), "add"
            )
        a, b = self.shape, o.shape
        return Tensor._make(
            self.data + o.data, (self, o), lambda g: (unbroadcast(g, a), unbroadcast(g, b)), "add"
        )

    __radd__ = __add__

    def __sub__(self, o) -> Tensor:
        if not isinstance(o, Tensor):
            a = self.shape
            return Tensor._make(
                self.data - _operand(o, self.data), (self,), lambda g: (unbroadcast(g, a),), "sub"
            )
        a, b = self.shape, o.shape
        return Tensor._make(
            self.data - o.data, (self, o), lambda g: (unbroadcast(g, a), unbroadcast(-g, b)), "sub"
        )

    def __rsub__(self, o) -> Tensor:
        a = self.shape
        out = _operand(o, self.data) - self.data
        return Tensor._make(out, (self,), lambda g: (unbroadcast(-g, a),), "rsub")

    def __mul__(self, o) -> Tensor:
        if not isinstance(o, Tensor):
            o = _operand(o, self.data)
            a = self.shape
            return Tensor._make(self.data * o, (self,), lambda g: (unbroadcast(g * o, a),), "mul")
        x, y = self.data, o.data

        def backward(g):
            return (
                unbroadcast(g * y, x.shape) if self.requires_grad else None,
                unbroadcast(g * x, y.shape) if o.requires_grad else None,
            )

        return Tensor._make(x * y, (self, o), backward, "mul")

    __rmul__ = __mul__

    def __truediv__(self, o) -> Tensor:
        if not isinstance(o, Tensor):
            return self * (1.0 / _operand(o, self.data))
        x, y = self.data, o.data
        out = x / y

        def backward(g):
            return (
                unbroadcast(g / y, x.shape) if self.requires_grad else None,
                unbroadcast(-g * out / y, y.shape) if o.requires_grad else None,
            )

        return Tensor._make(out, (self, o), backward, "div")

    def __rtruediv__(self, o) -> Tensor:
        x = self.data
        out = _operand(o, x) / x
        return Tensor._make(out, (self,), lambda g: (unbroadcast(-g * out / x, x.shape),), "rdiv")

    def __neg__(self) -> Tensor:
        return Tensor._make(-self.data, (self,), lambda g: (-g,), "neg")

    def __pow__(self, p) -> Tensor:
        x = self.data
        if isinstance(p, Tensor):  # x ** p with both differentiable: d/dp = x^p log x
            e = p.data
            out = x**e

            def backward(g):
                return (
                    unbroadcast(g * e * x ** (e - 1), x.shape) if self.requires_grad else None,
                    unbroadcast(g * out * _ns(x).log(x), e.shape) if p.requires_grad else None,
                )

            return Tensor._make(out, (self, p), backward, "pow")
        if isinstance(p, (int, float, np.number)) or getattr(p, "shape", None) == ():
            p = float(p)
            if p == 2.0:
                return Tensor._make(x * x, (self,), lambda g: (g * 2.0 * x,), "square")
            return Tensor._make(x**p, (self,), lambda g: (g * p * x ** (p - 1),), "pow")
        e = _operand(p, x)  # an array of exponents: broadcasting may widen self
        return Tensor._make(x**e, (self,), lambda g: (unbroadcast(g * e * x ** (e - 1), x.shape),), "pow")

    def __rpow__(self, base) -> Tensor:
        x = self.data
        xp = _ns(x)
        if isinstance(base, (int, float)):
            out = xp.astype(base**x, x.dtype, copy=False)
            log_base = math.log(base)
        else:  # an array of bases
            base = _operand(base, x)
            out = base**x
            log_base = _ns(out).log(base)
        return Tensor._make(out, (self,), lambda g: (unbroadcast(g * out * log_base, x.shape),), "rpow")

    def __matmul__(self, o) -> Tensor:
        return matmul(self, o)

    def __rmatmul__(self, o) -> Tensor:
        return matmul(o, self)

    # ---------------------------------------------------------------- reductions
    def sum(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
            keepdim: bool | None = None) -> Tensor:
        axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
        shape = self.shape
        xp = _ns(self.data)

        def backward(g):
            if axis is not None and not keepdims:
                g = xp.reshape(g, _kept_shape(shape, axis))
            return (xp.broadcast_to(g, shape),)

        out = xp.sum(self.data, axis=axis, keepdims=keepdims)
        return Tensor._make(np.asarray(out) if xp is _NP else out, (self,), backward, "sum")

    def mean(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
             keepdim: bool | None = None) -> Tensor:
        axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
        n = _count(self.shape, axis)
        return self.sum(axis, keepdims) * (1.0 / max(n, 1))

    def var(
        self,
        axis: Axis = None,
        keepdims: bool = False,
        *,
        dim: Axis = None,
        keepdim: bool | None = None,
        unbiased: bool = True,
        correction: int | None = None,
    ) -> Tensor:
        """Variance; ``correction`` (default 1, Bessel's, as torch.var) is subtracted from n."""
        axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
        c = (1 if unbiased else 0) if correction is None else correction
        n = _count(self.shape, axis)
        d = self - self.mean(axis, keepdims=True)
        return (d * d).sum(axis, keepdims) * (1.0 / max(n - c, 0) if n - c > 0 else float("nan"))

    def max(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
            keepdim: bool | None = None) -> Tensor:
        """Maximum; the gradient is split evenly between tied maxima (as torch.amax)."""
        axis, keepdims = _axis_args(axis, dim, keepdims, keepdim)
        x = self.data
        xp = _ns(x)
        m = xp.max(x, axis=axis, keepdims=True)

        def backward(g):
            if axis is not None and not keepdims:
                g = xp.reshape(g, m.shape)
            mask = xp.astype(x == m, x.dtype)
            return (mask * (g / xp.sum(mask, axis=axis, keepdims=True)),)

        out = m if keepdims else xp.reshape(m, () if axis is None else _dropped_shape(x.shape, axis))
        return Tensor._make(out, (self,), backward, "max")

    def min(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
            keepdim: bool | None = None) -> Tensor:
        return -((-self).max(axis, keepdims, dim=dim, keepdim=keepdim))

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        src = self.shape
        xp = _ns(self.data)
        return Tensor._make(xp.reshape(self.data, shape), (self,), lambda g: (xp.reshape(g, src),), "reshape")

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        s = self.shape
        if not s:
            return self.reshape(1)
        end = end_dim % len(s)
        return self.reshape(s[:start_dim] + (-1,) + s[end + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        d = dim if dim >= 0 else dim + self.ndim + 1
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        if self.shape[dim] != 1:
            return self
        s = list(self.shape)
        del s[dim]
        return self.reshape(tuple(s))

    def permute(self, *axes: int | Sequence[int]) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        inv = tuple(int(i) for i in np.argsort(axes))
        xp = _ns(self.data)
        return Tensor._make(
            xp.permute_dims(self.data, axes), (self,), lambda g: (xp.permute_dims(g, inv),), "permute"
        )

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(tuple(axes))

    @property
    def T(self) -> Tensor:
        return self.permute(tuple(range(self.ndim))[::-1])

    def expand(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(
            s if n == -1 else n
            for n, s in zip(shape, (1,) * (len(shape) - self.ndim) + self.shape, strict=True)
        )
        src = self.shape
        return Tensor._make(
            _ns(self.data).broadcast_to(self.data, shape), (self,), lambda g: (unbroadcast(g, src),), "expand"
        )

    def contiguous(self) -> Tensor:
        out = _array.ascontiguous(_ns(self.data), self.data)
        if out is self.data:
            return self
        return Tensor._make(out, (self,), lambda g: (g,), "contiguous")

    def __getitem__(self, idx) -> Tensor:
        """Basic slicing (a view) and integer-array gathering (the gradient scatters with add.at)."""
        if isinstance(idx, Tensor):
            idx = idx.data
        elif isinstance(idx, tuple):
            idx = tuple(i.data if isinstance(i, Tensor) else i for i in idx)
        x = self.data
        xp = _ns(x)
        advanced = _is_advanced(idx)
        if xp is not _NP and advanced:
            idx = _index_in(xp, idx)
            if not isinstance(idx, tuple):  # rows picked by one index array: the standard's take
                out = xp.take(x, xp.reshape(idx, (-1,)), axis=0)
                out = xp.reshape(out, tuple(idx.shape) + x.shape[1:])
                idx = (idx,) + (slice(None),) * (x.ndim - 1)  # for the scatter back
            else:
                out = x[idx]
        elif xp is not _NP:  # the standard wants every axis indexed: a trailing ... says the rest
            items = _as_tuple(idx)
            idx = items if any(i is Ellipsis for i in items) else items + (...,)
            out = x[idx]
        else:
            out = x[idx]

        def backward(g):
            if not advanced:
                return (_SliceGrad(x, idx, g),)
            gx = xp.zeros_like(x)
            _array.scatter_add(xp, gx, idx, g)
            return (gx,)

        return Tensor._make(out, (self,), backward, "getitem")

    # ---------------------------------------------------------------- elementwise math
    def exp(self) -> Tensor:
        out = _ns(self.data).exp(self.data)
        return Tensor._make(out, (self,), lambda g: (g * out,), "exp")

    def log(self) -> Tensor:
        x = self.data
        return Tensor._make(_ns(x).log(x), (self,), lambda g: (g / x,), "log")

    def sqrt(self) -> Tensor:
        out = _ns(self.data).sqrt(self.data)
        return Tensor._make(out, (self,), lambda g: (g * 0.5 / out,), "sqrt")

    def abs(self) -> Tensor:
        x = self.data
        xp = _ns(x)
        return Tensor._make(xp.abs(x), (self,), lambda g: (g * xp.sign(x),), "abs")

    def tanh(self) -> Tensor:
        out = _ns(self.data).tanh(self.data)
        return Tensor._make(out, (self,), lambda g: (g * (1.0 - out * out),), "tanh")

    def sigmoid(self) -> Tensor:
        out = _sigmoid(self.data)
        return Tensor._make(out, (self,), lambda g: (g * out * (1.0 - out),), "sigmoid")

    def relu(self) -> Tensor:
        x = self.data
        return Tensor._make(_ns(x).maximum(x, 0.0), (self,), lambda g: (_ns(x).where(x > 0, g, 0.0),), "relu")

    def gelu(self, approximate: str = "none") -> Tensor:
        """GELU: x * Phi(x) (exact, with erf) or the tanh approximation, as torch."""
        x = self.data
        xp = _ns(x)
        if approximate == "tanh":
            c = math.sqrt(2.0 / math.pi)
            u = c * (x + 0.044715 * x**3)
            t = xp.tanh(u)
            out = 0.5 * x * (1.0 + t)

            def backward(g):
                du = c * (1.0 + 3 * 0.044715 * x * x)
                return (g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du),)

            return Tensor._make(out, (self,), backward, "gelu")
        if xp is _NP and x.dtype == np.float32:  # the core's fused kernels: one pass each way
            xc = _c_order(x)

            def gelu_grad(g):
                return (_gelu_backward_kernel(_c_order(g), xc),)

            return Tensor._make(_gelu_kernel(xc), (self,), gelu_grad, "gelu")
        out, slope = _gelu_parts(xp, x)  # the backward keeps one array: the slope
        return Tensor._make(out, (self,), lambda g: (g * slope,), "gelu")

    def silu(self) -> Tensor:
        x = self.data
        s = _sigmoid(x)
        return Tensor._make(x * s, (self,), lambda g: (g * s * (1.0 + x * (1.0 - s)),), "silu")

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        from .nn import functional as F

        return F.softmax(self, axis if dim is None else dim)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        from .nn import functional as F

        return F.log_softmax(self, axis if dim is None else dim)

    def clamp(self, min: float | None = None,
              max: float | None = None) -> Tensor:  # noqa: A002 (torch's names)
        x = self.data
        xp = _ns(x)
        out = xp.clip(x, min, max)

        def backward(g):
            mask = xp.ones(x.shape, dtype=xp.bool)
            if min is not None:
                mask &= x >= min
            if max is not None:
                mask &= x <= max
            return (xp.where(mask, g, 0.0),)

        return Tensor._make(out, (self,), backward, "clamp")

    clip = clamp

    def masked_fill(self, mask: TensorLike, value: float) -> Tensor:
        xp = _ns(self.data)
        mask = xp.astype(_arr(mask, like=self.data), xp.bool)
        return Tensor._make(
            xp.where(mask, xp.asarray(value, dtype=self.data.dtype), self.data),
            (self,),
            lambda g: (unbroadcast(xp.where(mask, 0.0, g), self.shape),),
            "masked_fill",
        )


# -------------------------------------------------------------------- free functions
def tensor(data: ArrayLike | Tensor, requires_grad: bool = False, dtype: DTypeLike = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (``torch.tensor``); see :class:`Tensor`."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor over the memory of NumPy array ``a`` (``torch.from_numpy``): no copy, the dtype
    of ``a``; writes through either are seen by the other, an optimizer step included."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray for a, got {type(a).__name__}")
    return Tensor._make(a, (), None)


def _leaf(a, requires_grad: bool) -> Tensor:
    """A leaf over a freshly made host array ``a`` (no copy), in the default namespace."""
    t = Tensor._make(a if _DEFAULT_XP is None else _DEFAULT_XP.asarray(a), (), None)
    return t.requires_grad_(requires_grad)


def _lift(x) -> Tensor:
    """An operand as a tensor for an op: a Tensor itself, an array shared (no copy, nobody
    writes to it), Python data as :class:`Tensor` makes it."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) and _DEFAULT_XP is None or not _is_host(x):
        return Tensor._make(x, (), None)
    return Tensor(x)


def zeros(*shape: int | Sequence[int], requires_grad: bool = False) -> Tensor:
    return _leaf(np.zeros(_shape(shape), np.float32), requires_grad)


def ones(*shape: int | Sequence[int], requires_grad: bool = False) -> Tensor:
    return _leaf(np.ones(_shape(shape), np.float32), requires_grad)


def randn(*shape: int | Sequence[int], requires_grad: bool = False) -> Tensor:
    return _leaf(_rng.standard_normal(_shape(shape), dtype=np.float32), requires_grad)


def rand(*shape: int | Sequence[int], requires_grad: bool = False) -> Tensor:
    return _leaf(_rng.random(_shape(shape), dtype=np.float32), requires_grad)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` through the core's GEMM; batch axes broadcast as in NumPy.

    Forward C = A B; backward dA = dC B^T, dB = A^T dC (summed over broadcast batch axes). The
    transposes are GEMM flags, not copies.
    """
    a, b = _lift(a), _lift(b)
    x, w = a.data, b.data
    if x.ndim == 1 or w.ndim == 1:  # vectors: promote as NumPy does, then squeeze back
        out = (a.unsqueeze(0) if x.ndim == 1 else a) @ (b.unsqueeze(-1) if w.ndim == 1 else b)
        if w.ndim == 1:
            out = out.squeeze(-1)
        if x.ndim == 1:
            out = out.squeeze(-2)
        return out
    xp = _ns(x)
    dta, dtb = x.dtype, w.dtype
    x, w = promote(xp, x, w)  # float64 @ float32 computes in float64
    if w.ndim == 2:  # (..., m, k) @ (k, n): one GEMM over the flattened rows
        lead = x.shape[:-1]
        x2 = xp.reshape(x, (-1, x.shape[-1]))
        out = xp.reshape(_wrap(xp, _gemm(x2, w)), lead + (w.shape[1],))

        def backward(g):
            g2 = xp.reshape(g, (-1, g.shape[-1]))
            ga = gb = None
            if a.requires_grad:
                ga = xp.astype(xp.reshape(_wrap(xp, _gemm(g2, w, trans_b=True)), x.shape), dta, copy=False)
            if b.requires_grad:
                gb = xp.astype(_wrap(xp, _gemm(x2, g2, trans_a=True)), dtb, copy=False)
            return ga, gb

        return Tensor._make(out, (a, b), backward, "matmul")
    batch = np.broadcast_shapes(x.shape[:-2], w.shape[:-2])
    xb = xp.reshape(xp.broadcast_to(x, batch + x.shape[-2:]), (-1,) + x.shape[-2:])
    wb = xp.reshape(xp.broadcast_to(w, batch + w.shape[-2:]), (-1,) + w.shape[-2:])
    out = xp.reshape(_wrap(xp, _gemm(xb, wb)), batch + (x.shape[-2], w.shape[-1]))

    def backward_b(g):
        g3 = xp.reshape(g, (-1,) + g.shape[-2:])
        ga = gb = None
        if a.requires_grad:
            ga = xp.reshape(_wrap(xp, _gemm(g3, wb, trans_b=True)), batch + x.shape[-2:])
            ga = xp.astype(unbroadcast(ga, x.shape), dta, copy=False)
        if b.requires_grad:
            gb = xp.reshape(_wrap(xp, _gemm(xb, g3, trans_a=True)), batch + w.shape[-2:])
            gb = xp.astype(unbroadcast(gb, w.shape), dtb, copy=False)
        return ga, gb

    return Tensor._make(out, (a, b), backward_b, "bmm")


def cat(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Concatenate along ``axis``; the gradient is split back into the pieces."""
    axis = axis if dim is None else dim
    tensors = [_lift(t) for t in tensors]
    xp = _ns(tensors[0].data)
    out = xp.concat([t.data for t in tensors], axis=axis)
    ax = axis % out.ndim
    bounds = [0, *np.cumsum([t.shape[axis] for t in tensors]).tolist()]

    def backward(g):
        pre = (slice(None),) * ax
        return tuple(g[pre + (slice(lo, hi), ...)] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True))

    return Tensor._make(out, tuple(tensors), backward, "cat")


concat = cat


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    axis = axis if dim is None else dim
    tensors = [_lift(t) for t in tensors]
    xp = _ns(tensors[0].data)
    out = xp.stack([t.data for t in tensors], axis=axis)
    pre = (slice(None),) * (axis % out.ndim)
    n = len(tensors)
    return Tensor._make(out, tuple(tensors), lambda g: tuple(g[pre + (i, ...)] for i in range(n)), "stack")


def where(cond: TensorLike, a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise ``cond ? a : b``; the gradient goes to the chosen side."""
    a, b = _lift(a), _lift(b)
    xp = _ns(a.data)
    c = xp.astype(_arr(cond, like=a.data), xp.bool)
    out = xp.where(c, a.data, b.data)
    return Tensor._make(
        out,
        (a, b),
        lambda g: (unbroadcast(xp.where(c, g, 0.0), a.shape), unbroadcast(xp.where(c, 0.0, g), b.shape)),
        "where",
    )


def exp(x: Tensor) -> Tensor:
    return x.exp()


def log(x: Tensor) -> Tensor:
    return x.log()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def sqrt(x: Tensor) -> Tensor:
    return x.sqrt()


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    raise_exception: bool = True,
    dtype: DTypeLike = np.float64,
) -> bool:
    """Compare autograd's gradients of ``fn(*inputs)`` with central finite differences.

    By default everything runs in float64: each input becomes a float64 leaf; the analytic
    gradient of ``sum(fn(*inputs) * r)`` for a fixed random ``r`` is compared with
    ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every element of every input.
    ``dtype=np.float32`` checks ops whose core kernels are float32-only, with a larger step and
    tolerances to match (eps 1e-2, atol 2e-3, rtol 2e-2; float64: 1e-6, 1e-5, 1e-4).
    Returns True, or raises ``AssertionError`` (``raise_exception``) / returns False.
    """
    f64 = np.dtype(dtype) == np.float64
    eps = eps if eps is not None else (1e-6 if f64 else 1e-2)
    atol = atol if atol is not None else (1e-5 if f64 else 2e-3)
    rtol = rtol if rtol is not None else (1e-4 if f64 else 2e-2)
    hosts = [np.array(_array.to_host(_arr(x)), dtype=dtype) for x in inputs]
    leaves = [Tensor(h, requires_grad=True, dtype=dtype) for h in hosts]
    out = fn(*leaves)
    r = np.random.default_rng(1234).standard_normal(out.shape).astype(dtype)

    def f() -> float:
        with no_grad():
            return float((fn(*leaves).numpy().astype(np.float64) * r).sum())

    (out * Tensor(r, dtype=dtype)).sum().backward()
    for k, leaf in enumerate(leaves):
        analytic = leaf.grad if leaf.grad is not None else np.zeros(leaf.shape, dtype)
        analytic = _array.to_host(analytic)
        numeric = np.zeros(leaf.shape, dtype)
        flat = _ns(leaf.data).reshape(leaf.data, (-1,))  # a view: writes perturb the leaf
        for i in range(flat.shape[0]):
            old = flat[i]
            flat[i] = old + eps
            fp = f()
            flat[i] = old - eps
            fm = f()
            flat[i] = old
            numeric.reshape(-1)[i] = (fp - fm) / (2 * eps)
        if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
            if raise_exception:
                err = np.max(np.abs(analytic - numeric))
                raise AssertionError(
                    f"gradcheck: input {k}: max |analytic - numeric| = {err:.3g}\n"
                    f"analytic={analytic}\nnumeric={numeric}"
                )
            return False
    return True


# -------------------------------------------------------------------- NumPy's protocols
def _binary_ufunc(forward: str, reflected: str) -> Callable:
    """A binary ufunc as Tensor's operator: ``a.forward(b)`` or, with a non-Tensor on the left,
    ``b.reflected(a)`` (never the NumPy operator, which would call the ufunc again)."""
    def op(a, b):
        return getattr(a, forward)(b) if isinstance(a, Tensor) else getattr(b, reflected)(a)

    return op


_UFUNC_OPS: dict = {
    np.add: _binary_ufunc("__add__", "__radd__"),
    np.subtract: _binary_ufunc("__sub__", "__rsub__"),
    np.multiply: _binary_ufunc("__mul__", "__rmul__"),
    np.true_divide: _binary_ufunc("__truediv__", "__rtruediv__"),
    np.power: _binary_ufunc("__pow__", "__rpow__"),
    np.matmul: _binary_ufunc("__matmul__", "__rmatmul__"),
    np.equal: _binary_ufunc("__eq__", "__eq__"),
    np.not_equal: _binary_ufunc("__ne__", "__ne__"),
    np.less: _binary_ufunc("__lt__", "__gt__"),
    np.less_equal: _binary_ufunc("__le__", "__ge__"),
    np.greater: _binary_ufunc("__gt__", "__lt__"),
    np.greater_equal: _binary_ufunc("__ge__", "__le__"),
    np.negative: lambda a: -a,
    np.exp: lambda a: a.exp(),
    np.log: lambda a: a.log(),
    np.sqrt: lambda a: a.sqrt(),
    np.tanh: lambda a: a.tanh(),
    np.absolute: lambda a: a.abs(),
}


def _graph_tensors(x):
    """The tensors inside ``x`` (nested tuples, lists and dicts) that requires grad."""
    if isinstance(x, Tensor):
        if x.requires_grad:
            yield x
    elif isinstance(x, (tuple, list)):
        for item in x:
            yield from _graph_tensors(item)
    elif isinstance(x, dict):
        for item in x.values():
            yield from _graph_tensors(item)


def _refuse_graph_tensors(what: str, args) -> None:
    if _GRAD_ENABLED and next(_graph_tensors(args), None) is not None:
        raise TypeError(
            f"{what} on a Tensor that requires grad would return a NumPy array and drop it from the "
            "graph: use the Tensor method or grimoire function (t.exp(), t.sum(), grimoire.autograd.cat "
            "...), or t.detach().numpy() for the values"
        )


def _host_args(x):
    """``x`` with every Tensor inside (nested tuples, lists, dicts) replaced by its data as NumPy."""
    if isinstance(x, Tensor):
        return x.numpy()
    if isinstance(x, (tuple, list)):
        return type(x)(_host_args(item) for item in x)
    if isinstance(x, dict):
        return {k: _host_args(v) for k, v in x.items()}
    return x


# -------------------------------------------------------------------- helpers
def _shape(shape) -> tuple[int, ...]:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _axis_args(axis, dim, keepdims, keepdim):
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, keepdims


def _count(shape: tuple[int, ...], axis) -> int:
    """How many elements a reduction over ``axis`` combines."""
    if axis is None:
        return math.prod(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return math.prod(shape[a] for a in axes)


def _kept_shape(shape: tuple[int, ...], axis) -> tuple[int, ...]:
    """The shape of a ``keepdims=True`` reduction of ``shape`` over ``axis``."""
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _dropped_shape(shape: tuple[int, ...], axis) -> tuple[int, ...]:
    """The shape of a ``keepdims=False`` reduction of ``shape`` over ``axis``."""
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _operand(o, x):
    """A non-Tensor operand of an op on data ``x``: as it is on NumPy data and for Python numbers,
    else in ``x``'s namespace (a NumPy array beside array_api_strict or CuPy data)."""
    if _ns(x) is _NP or isinstance(o, (int, float)) and not isinstance(o, np.generic):
        return o
    return _arr(o, like=x)


def _is_advanced(idx) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, (list, np.ndarray)) or hasattr(i, "__array_namespace__") for i in items)


def _as_tuple(idx) -> tuple:
    return idx if isinstance(idx, tuple) else (idx,)


def _index_in(xp, idx):
    """An advanced index with its integer arrays in namespace ``xp`` (for non-NumPy data)."""
    if isinstance(idx, tuple):
        return tuple(_index_in(xp, i) for i in idx)
    if isinstance(idx, (list, np.ndarray)):
        return xp.asarray(np.asarray(idx))
    return idx


def _c_order(a: np.ndarray) -> np.ndarray:
    """``a`` C-contiguous, a copy only when it is not (np.ascontiguousarray makes 0-d arrays 1-d)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _sigmoid(x):
    # stable on both tails: exp of a non-positive number only
    xp = _ns(x)
    e = xp.exp(-xp.abs(x))
    return xp.astype(xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)), x.dtype, copy=False)


def erf(x: ArrayLike) -> Array:
    """The error function: Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, float32's precision),
    in the input's precision and namespace, in place where it can (the array-API standard and
    NumPy have no erf; SciPy is not a runtime dependency)."""
    xp = _ns(x) if hasattr(x, "__array_namespace__") else _NP
    x = xp.asarray(x)
    if not xp.isdtype(x.dtype, "real floating"):
        x = xp.astype(x, xp.float64)
    c, _ = _erfc_nonneg(xp, xp.abs(x))
    return xp.copysign(1.0 - c, x)


def _erfc_nonneg(xp, a):
    """``(erfc(a), exp(-a^2))`` for ``a >= 0``: erfc(a) = t (a1 + t (a2 + ... + t a5)) exp(-a^2),
    t = 1 / (1 + p a) (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). ``a`` is overwritten; the
    exp comes back too because the normal pdf at sqrt(2) a is the same exponential."""
    t = a * 0.3275911
    t += 1.0
    t = 1.0 / t
    y = t * 1.061405429
    y -= 1.453152027
    y *= t
    y += 1.421413741
    y *= t
    y -= 0.284496736
    y *= t
    y += 0.254829592
    y *= t
    a *= a
    a *= -1.0
    e = xp.exp(a)
    y *= e
    return y, e


def _gelu_parts(xp, x):
    """``(x Phi(x), Phi(x) + x phi(x))``: exact GELU and its slope, sharing one exp (the pdf's
    exp(-x^2 / 2) is erf's exp(-z^2) at z = x / sqrt 2). Phi(x) = 1/2 + sign(x) erf(|z|) / 2.
    For data the core's kernels do not take (float64, other namespaces, GPU arrays)."""
    c, e = _erfc_nonneg(xp, xp.abs(x) * (1.0 / math.sqrt(2.0)))
    c *= -0.5
    c += 0.5  # erf(|z|) / 2
    cdf = xp.copysign(c, x)
    cdf += 0.5
    e *= 1.0 / math.sqrt(2.0 * math.pi)
    e *= x
    e += cdf
    return xp.astype(x * cdf, x.dtype, copy=False), e
