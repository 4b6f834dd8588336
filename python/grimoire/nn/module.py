"""``Module`` and ``Parameter``: the containers every layer is built from (PyTorch's contract).

A module's attributes that are :class:`Parameter` or :class:`Module` are registered in order, so
``named_parameters()`` and ``state_dict()`` give PyTorch's dotted key names (``0.weight``,
``encoder.layers.1.self_attn.in_proj_weight``, ...) and shapes; a PyTorch ``state_dict``
converted to NumPy loads as it is. Weights are saved as safetensors (never pickle), written
atomically (a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from .. import _array
from ..autograd import Tensor, _ns


class RemovableHandle(Protocol):
    """What a ``register_*_hook`` returns: ``remove()`` unregisters the hook."""

    def remove(self) -> None: ...


class Parameter(Tensor):
    """A leaf tensor that a module owns and an optimizer updates (``requires_grad=True``)."""

    __slots__ = ("_grad_hooks",)

    def __init__(self, data: ArrayLike | Tensor, requires_grad: bool = True):
        data = data.data if isinstance(data, Tensor) else data
        if type(data) is not np.ndarray and hasattr(data, "__array_namespace__"):  # a private float32 copy
            xp = _ns(data)
            data = xp.asarray(data, dtype=xp.float32, copy=True)
        else:
            data = np.array(data, dtype=np.float32)
        super().__init__(data, requires_grad=requires_grad)
        self._grad_hooks: list = []

    def register_post_accumulate_grad_hook(self, hook: Callable[[Parameter], object]) -> RemovableHandle:
        """Call ``hook(param)`` each time backward has finished accumulating into ``.grad``
        (PyTorch's name); returns a handle whose ``remove()`` unregisters it."""
        self._grad_hooks.append(hook)
        hooks = self._grad_hooks

        class Handle:
            def remove(self) -> None:
                if hook in hooks:
                    hooks.remove(hook)

        return Handle()

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape})"


class Module:
    """Base class of layers and models: ``forward`` computes, ``__call__`` calls it."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("call Module.__init__() before assigning attributes")
        for d in (self._parameters, self._modules, self._buffers):
            d.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for d in (self._parameters, self._modules, self._buffers):
            d.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: np.ndarray | None, persistent: bool = True) -> None:
        """A state array that is not trained (running statistics): saved in the state_dict."""
        object.__setattr__(self, name, value)
        if persistent:
            self._buffers[name] = True

    def register_parameter(self, name: str, value: Parameter | None) -> None:
        if value is None:
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, value)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        for mname, m in self.named_modules(prefix):
            for pname, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for mname, m in self.named_modules():
            for bname in m._buffers:
                yield (f"{mname}.{bname}" if mname else bname), getattr(m, bname)

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, flag: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter (partial fine-tuning, primer 6.7)."""
        for p in self.parameters():
            p.requires_grad = flag
        return self

    def apply(self, fn: Callable[[Module], object]) -> Module:
        for m in self.modules():
            fn(m)
        return self

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def to(self, device: str) -> Module:
        """Move every parameter (with its gradient) and buffer to ``device`` (``"cpu"``, ``"cuda"``,
        ``"cuda:N"``) in place and return the module. The parameters stay the same objects, so an
        optimizer built before the move keeps them (its state is created where they live)."""
        for p in self.parameters():
            p.data = _array.to_device(p.data, device)
            if p.grad is not None:
                p.grad = _array.to_device(p.grad, device)
        for m in self.modules():
            for bname in m._buffers:
                val = getattr(m, bname)
                if val is not None:
                    object.__setattr__(m, bname, _array.to_device(val, device))
        return self

    def cuda(self) -> Module:
        return self.to("cuda")

    def cpu(self) -> Module:
        return self.to("cpu")

    # ---------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameters and persistent buffers as NumPy arrays (copies), keyed as in PyTorch."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for mname, m in self.named_modules():
            pre = f"{mname}." if mname else ""
            for pname, p in m._parameters.items():
                out[pre + pname] = np.array(_array.to_host(p.data), copy=True)
            for bname in m._buffers:
                val = getattr(m, bname)
                if val is not None:
                    out[pre + bname] = np.array(_array.to_host(val), copy=True)
        return out

    def load_state_dict(self, state: dict, strict: bool = True) -> Module:
        """Copy arrays (NumPy, or anything with ``.numpy()``, e.g. torch tensors) into place."""
        own = {}
        for mname, m in self.named_modules():
            pre = f"{mname}." if mname else ""
            for pname in m._parameters:
                own[pre + pname] = (m, pname, True)
            for bname in m._buffers:
                own[pre + bname] = (m, bname, False)
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        # Every entry is checked before any is assigned: a mismatch leaves the module untouched.
        checked = []
        for k, v in state.items():
            if k not in own:
                continue
            arr = np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v)
            m, name, is_param = own[k]
            cur = getattr(m, name)
            cur_arr = cur.data if isinstance(cur, Tensor) else cur
            if cur_arr is not None and tuple(arr.shape) != tuple(np.shape(cur_arr)):
                raise ValueError(f"load_state_dict: {k} has shape {arr.shape}, expected {np.shape(cur_arr)}")
            dtype = np.float32 if is_param else cur_arr.dtype if cur_arr is not None else arr.dtype
            checked.append((m, name, is_param, cur, np.array(arr, dtype=dtype, copy=True)))
        for m, name, is_param, cur, value in checked:
            if is_param:
                cur.data = _ns(cur.data).asarray(value)  # where cur lives
            else:
                object.__setattr__(m, name, value)
        return self

    def save(self, path: str | os.PathLike) -> None:
        """Write the state_dict as a safetensors file, atomically."""
        save_safetensors(self.state_dict(), path)

    def load(self, path: str | os.PathLike, strict: bool = True) -> Module:
        """Load weights from a safetensors file written by :meth:`save` (or by PyTorch)."""
        return self.load_state_dict(load_safetensors(path), strict=strict)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        return "\n".join(lines) + ("\n)" if self._modules else ")")

    def extra_repr(self) -> str:
        return ""


def save_safetensors(
    tensors: dict[str, np.ndarray], path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> None:
    """Write a dict of arrays to ``path`` as safetensors: a temporary file in the same folder,
    then ``os.replace``, so a crash never leaves a half-written file under the final name."""
    from safetensors.numpy import save

    blob = save({k: np.array(v, order="C", copy=None) for k, v in tensors.items()}, metadata=metadata)
    path = os.fspath(path)
    _refuse_read_only(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600; a saved file gets the usual mode
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask() -> int:
    """The process umask, read without changing it (os.umask can only set it, racing other threads)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _refuse_read_only(path: str) -> None:
    """os.replace would silently swap out a file its owner made read-only: refuse instead."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if mode & 0o222 == 0 or not os.access(path, os.W_OK):
        raise PermissionError(f"{path} is read-only; refusing to replace it (make it writable or remove it)")


def load_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(os.fspath(path))
