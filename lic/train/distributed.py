"""Running one training process per GPU under ``torchrun`` (DistributedDataParallel)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    """Where this training process stands: its rank among ``world`` processes and its device.

    A plain ``lic train`` is a group of one. Under ``torchrun --nproc-per-node K``
    each process drives one GPU (``cuda:LOCAL_RANK``); rank 0 alone logs, validates
    and writes checkpoints.
    """

    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on the process that logs and writes files."""
        return self.rank == 0

    def average_gradients(self, parameters: list[torch.nn.Parameter]) -> None:
        """All-reduces (means) the gradients of parameters that DDP does not manage."""
        if self.world == 1:
            return
        for p in parameters:
            if p.grad is not None:
                dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
                p.grad.div_(self.world)

    def any(self, flag: bool) -> bool:
        """True on every process when ``flag`` is true on any (so all stop at the same step)."""
        if self.world == 1:
            return flag
        value = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def barrier(self) -> None:
        """Waits for every process."""
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        """Leaves the process group."""
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def join_process_group(device_name: str) -> ProcessGroup:
    """Joins the ``torchrun`` process group when there is one; else a group of one on ``device_name``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        if device_name == "auto":
            device_name = "cuda" if torch.cuda.is_available() else "cpu"
        return ProcessGroup(0, 1, torch.device(device_name))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    return ProcessGroup(rank, world, torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu"))
