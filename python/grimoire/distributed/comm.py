"""Process groups and collectives on NumPy buffers, over MPI (mpi4py).

MPI is the engine: grimoire never opens a socket of its own. A :class:`ProcessGroup` wraps an MPI
communicator; its collectives take C-contiguous NumPy arrays and work in place where MPI can
(``MPI.IN_PLACE``), so no copy is made beyond what MPI needs. ``async_op=True`` starts the
non-blocking form and returns a :class:`Work` whose ``wait()`` completes it.

Launch with ``grimoire run -n 2 script.py`` or ``mpirun -n 2 python script.py``; a script run
plainly is a world of one rank, and every collective is then a copy or a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mpi4py import MPI

_WORLD: ProcessGroup | None = None
_OPS = ("sum", "mean", "max", "min")


def mpi() -> ModuleType:
    """The mpi4py ``MPI`` module, or an ImportError that says how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "grimoire.distributed runs on MPI through mpi4py, which is not installed: "
            "pip install 'ml-grimoire[distributed]' (mpi4py and an MPI from PyPI wheels)"
        ) from e
    return MPI


def _buffer(buf, name: str, writable: bool = True) -> np.ndarray:
    if not isinstance(buf, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(buf).__name__}")
    if not buf.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (MPI sends the buffer as it lies in memory)")
    if writable and not buf.flags.writeable:
        raise ValueError(f"{name} must be writable")
    if buf.dtype.kind not in "fiub":
        raise TypeError(f"{name} must have a numeric dtype, got {buf.dtype}")
    return buf


def _mpi_op(op: str):
    if op not in _OPS:
        raise ValueError(f"op must be one of {_OPS}, got {op!r}")
    MPI = mpi()
    return {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


class Work:
    """A collective in flight: ``wait()`` completes it (and divides for ``op='mean'``)."""

    def __init__(self, request: MPI.Request, finish: Callable[[], None] | None = None):
        self._request, self._finish, self._done = request, finish, False

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self) -> None:
        if not self._done:
            self._request.Wait()
            self._complete()

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()


class ProcessGroup:
    """A set of ranks that run collectives together (an MPI communicator)."""

    def __init__(self, comm: MPI.Comm):
        self.comm = comm

    @property
    def rank(self) -> int:
        return self.comm.Get_rank()

    @property
    def size(self) -> int:
        return self.comm.Get_size()

    def __repr__(self) -> str:
        return f"ProcessGroup(rank={self.rank}, size={self.size})"

    def barrier(self) -> None:
        self.comm.Barrier()

    def all_reduce(self, buf: np.ndarray, op: str = "sum", async_op: bool = False) -> Work | None:
        """``buf`` <- op over ranks of ``buf``, in place; ``op`` sum, mean, max or min."""
        buf = _buffer(buf, "buf")
        mop = _mpi_op(op)
        MPI = mpi()
        finish = (lambda: np.divide(buf, self.size, out=buf, casting="unsafe")) if op == "mean" else None
        if async_op:
            return Work(self.comm.Iallreduce(MPI.IN_PLACE, buf, op=mop), finish)
        self.comm.Allreduce(MPI.IN_PLACE, buf, op=mop)
        if finish:
            finish()
        return None

    def reduce_scatter(
        self, out: np.ndarray, inp: np.ndarray, op: str = "sum", async_op: bool = False
    ) -> Work | None:
        """Rank r receives chunk r of op-over-ranks(``inp``): ``inp.size == size * out.size``."""
        out, inp = _buffer(out, "out"), _buffer(inp, "inp", writable=False)
        if inp.size != self.size * out.size:
            raise ValueError(
                f"inp must have world_size * out.size = {self.size * out.size} elements, got {inp.size}"
            )
        if inp.dtype != out.dtype:
            raise TypeError(f"inp and out must share a dtype, got {inp.dtype} and {out.dtype}")
        mop = _mpi_op(op)
        finish = (lambda: np.divide(out, self.size, out=out, casting="unsafe")) if op == "mean" else None
        if async_op:
            return Work(self.comm.Ireduce_scatter_block(inp, out, op=mop), finish)
        self.comm.Reduce_scatter_block(inp, out, op=mop)
        if finish:
            finish()
        return None

    def all_gather(self, out: np.ndarray, inp: np.ndarray, async_op: bool = False) -> Work | None:
        """``out`` <- the ranks' ``inp`` concatenated in rank order: ``out.size == size * inp.size``."""
        out, inp = _buffer(out, "out"), _buffer(inp, "inp", writable=False)
        if out.size != self.size * inp.size:
            raise ValueError(
                f"out must have world_size * inp.size = {self.size * inp.size} elements, got {out.size}"
            )
        if inp.dtype != out.dtype:
            raise TypeError(f"inp and out must share a dtype, got {inp.dtype} and {out.dtype}")
        if async_op:
            return Work(self.comm.Iallgather(inp, out))
        self.comm.Allgather(inp, out)
        return None

    def broadcast(self, buf: np.ndarray, src: int = 0, async_op: bool = False) -> Work | None:
        """``buf`` <- rank ``src``'s ``buf``, in place."""
        buf = _buffer(buf, "buf")
        if not 0 <= src < self.size:
            raise ValueError(f"src must be a rank of the group (0..{self.size - 1}), got {src}")
        if async_op:
            return Work(self.comm.Ibcast(buf, root=src))
        self.comm.Bcast(buf, root=src)
        return None

    def all_gather_object(self, obj: Any) -> list:
        """Every rank's ``obj`` (small Python values: shapes, names), in rank order."""
        return self.comm.allgather(obj)

    def split(self, color: int, key: int | None = None) -> ProcessGroup:
        """The sub-group of the ranks that pass the same ``color`` (MPI_Comm_split)."""
        return ProcessGroup(self.comm.Split(color, self.rank if key is None else key))


def init() -> ProcessGroup:
    """Initialise MPI (idempotent) and return the world group."""
    global _WORLD
    if _WORLD is None:
        _WORLD = ProcessGroup(mpi().COMM_WORLD)
    return _WORLD


def world() -> ProcessGroup:
    return init()


def rank() -> int:
    return init().rank


def world_size() -> int:
    return init().size


def barrier() -> None:
    init().barrier()


def _group(group: ProcessGroup | None) -> ProcessGroup:
    return init() if group is None else group


def all_reduce(buf: np.ndarray, op: str = "sum", group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    return _group(group).all_reduce(buf, op, async_op)


def reduce_scatter(out: np.ndarray, inp: np.ndarray, op: str = "sum", group: ProcessGroup | None = None,
                   async_op: bool = False) -> Work | None:
    return _group(group).reduce_scatter(out, inp, op, async_op)


def all_gather(out: np.ndarray, inp: np.ndarray, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    return _group(group).all_gather(out, inp, async_op)


def broadcast(buf: np.ndarray, src: int = 0, group: ProcessGroup | None = None,
              async_op: bool = False) -> Work | None:
    return _group(group).broadcast(buf, src, async_op)


class ProcessGrid:
    """Ranks arranged as a ``dp x tp`` grid (rank = i_dp * tp + i_tp): ``tp`` groups the ranks
    that share a data shard and split the layers (tensor parallel); ``dp`` the ranks holding the
    same layer shard on different data (data parallel)."""

    def __init__(self, dp: int, tp: int, group: ProcessGroup | None = None):
        base = _group(group)
        for name, v in (("dp", dp), ("tp", tp)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if dp * tp != base.size:
            raise ValueError(f"dp * tp must equal the world size {base.size}, got {dp} * {tp}")
        self.dp_size, self.tp_size = dp, tp
        self.dp_rank, self.tp_rank = divmod(base.rank, tp)
        self.tp = base.split(self.dp_rank)
        self.dp = base.split(self.tp_rank)


def check_same_across_ranks(items: Sequence, what: str, group: ProcessGroup) -> None:
    """Raise the same ValueError on every rank when ranks disagree on ``items`` (names, shapes):
    checked once with one all-gather, instead of a deadlock in a later collective."""
    everyone = group.all_gather_object(list(items))
    for r, theirs in enumerate(everyone):
        if theirs != everyone[0]:
            diff = next(
                (f"{a} vs {b}" for a, b in zip(everyone[0], theirs, strict=False) if a != b),
                f"{len(everyone[0])} vs {len(theirs)} entries",
            )
            raise ValueError(f"ranks disagree on {what}: rank 0 and rank {r} differ ({diff})")
