"""Training beyond one process (primer 6.5.5) on MPI, through mpi4py.

- collectives on NumPy buffers (:mod:`.comm`): ``all_reduce``, ``reduce_scatter``,
  ``all_gather``, ``broadcast`` (``async_op=True`` for the non-blocking forms), process groups
  and a ``dp x tp`` :class:`ProcessGrid`;
- data parallelism: :class:`DistributedDataParallel` (bucketed all-reduce overlapped with
  backward, ``no_sync``), :class:`DistributedSampler`;
- ZeRO: :class:`ZeroRedundancyOptimizer` (stage 1), :class:`FullyShardedDataParallel` with
  ``ShardingStrategy.SHARD_GRAD_OP`` (stage 2) or ``FULL_SHARD`` (stage 3), sharded checkpoints
  that load into any world size;
- tensor parallelism: :class:`ColumnParallelLinear`, :class:`RowParallelLinear`,
  :class:`ParallelMLP`, :class:`ParallelMultiheadAttention`.

Install with ``pip install 'ml-grimoire[distributed]'`` (mpi4py and an MPI from PyPI); launch with
``grimoire run -n 2 script.py`` or ``mpirun -n 2 python script.py``.
"""

from .comm import (
    ProcessGrid,
    ProcessGroup,
    Work,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    init,
    rank,
    reduce_scatter,
    world,
    world_size,
)
from .ddp import DistributedDataParallel, DistributedSampler
from .fsdp import FullyShardedDataParallel, ShardingStrategy, load_full_state_dict
from .tensor_parallel import ColumnParallelLinear, ParallelMLP, ParallelMultiheadAttention, RowParallelLinear
from .zero import ZeroRedundancyOptimizer

__all__ = [
    "ProcessGrid",
    "ProcessGroup",
    "Work",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "init",
    "rank",
    "reduce_scatter",
    "world",
    "world_size",
    "DistributedDataParallel",
    "DistributedSampler",
    "FullyShardedDataParallel",
    "ShardingStrategy",
    "load_full_state_dict",
    "ZeroRedundancyOptimizer",
    "ColumnParallelLinear",
    "RowParallelLinear",
    "ParallelMLP",
    "ParallelMultiheadAttention",
]
