"""Several devices from inside one Kedro node: DDP whose rank 0 is the calling process.

Lightning's launchers do not fit a Kedro node (docs/models.md "Devices"):
- ``ddp`` (the subprocess script launcher) re-executes the command line once per rank, so every
  rank would run the whole ``kedro run`` session again - ingestion, tracking and all (kedro
  issue 2049);
- ``ddp_spawn`` runs *every* rank in a child, so rank 0's callbacks (the MLflow curves of the
  configuration run) would log from another process, and the trained module would come back
  only as a weights file;
- ``ddp_fork`` forks a process whose OpenMP runtime already has threads, which deadlocks in
  libgomp on CPU.

:class:`InProcessDDPStrategy` keeps Lightning's DDP (gradient all-reduce, process group, device
placement) and replaces only the launch: ranks 1..N-1 are *spawned* (a fresh interpreter that
imports the project but runs no Kedro code) and run ``trainer.fit`` on a pickled copy of the
trainer and module without the tracking callbacks; rank 0 trains in the calling process, so the
node's module, callbacks and MLflow run are the ones that saw the training. Under ``torchrun``
or SLURM the cluster environment has already created the processes, and nothing is launched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import torch
import torch.multiprocessing as mp
from lightning.fabric.strategies.launchers.multiprocessing import _disable_module_memory_sharing
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers.launcher import _Launcher
from lightning.pytorch.strategies.launchers.multiprocessing import _GlobalStateSnapshot

logger = logging.getLogger(__name__)

WORKER_JOIN_SECONDS = 120.0
"""How long rank 0 waits for the other ranks to exit once its own training has ended."""


def _threads_per_rank(world: int) -> int:
    return max(1, torch.get_num_threads() // world)


def _run_rank(
    rank: int,
    function: Callable,
    args: tuple,
    kwargs: dict,
    global_states: _GlobalStateSnapshot,
    threads: int,
) -> None:
    """A spawned rank: the parent's seeds and deterministic flags, its own parameter copies."""
    global_states.restore()
    # tensors passed through spawn share memory with the parent; each rank owns its weights
    args, kwargs = _disable_module_memory_sharing((args, kwargs))
    torch.set_num_threads(threads)
    os.environ["LOCAL_RANK"] = str(rank)
    # rank 0 tells the story; the others speak only to warn
    for name in ("longtail_mltc", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    function(*args, **kwargs)


class InProcessLauncher(_Launcher):
    """Rank 0 in this process, ranks 1..N-1 spawned (module doc)."""

    def __init__(self, strategy: DDPStrategy) -> None:
        self._strategy = strategy
        self.procs: list[Any] = []

    @property
    def is_interactive_compatible(self) -> bool:
        return True

    def launch(self, function: Callable, *args: Any, trainer: Any = None, **kwargs: Any) -> Any:
        environment = self._strategy.cluster_environment
        if environment is not None and environment.creates_processes_externally:
            return function(*args, **kwargs)  # torchrun / SLURM started every rank
        world = self._strategy.num_processes
        os.environ["MASTER_PORT"] = str(environment.main_port)
        threads_before = torch.get_num_threads()
        threads = _threads_per_rank(world)
        context = mp.get_context("spawn")
        state = _GlobalStateSnapshot.capture()
        self.procs = [
            context.Process(
                target=_run_rank,
                args=(rank, function, args, kwargs, state, threads),
                name=f"ddp-rank-{rank}",
            )
            for rank in range(1, world)
        ]
        for process in self.procs:
            process.start()  # pickles the trainer and module (module.__getstate__ drops tracking)
        logger.info(
            "DDP over %d processes: rank 0 is this process, ranks 1-%d spawned (pids %s), "
            "%d thread(s) each",
            world,
            world - 1,
            ", ".join(str(p.pid) for p in self.procs),
            threads,
        )
        os.environ["LOCAL_RANK"] = "0"
        torch.set_num_threads(threads)
        try:
            result = function(*args, **kwargs)
        except BaseException:
            self._join_workers(wait=0.0)  # they would wait in a collective for rank 0
            raise
        else:
            self._join_workers(wait=WORKER_JOIN_SECONDS, check=True)
            return result
        finally:
            # LOCAL_RANK in the environment tells Lightning a launcher outside made the ranks:
            # left here, the next training in this session would wait for ranks never started
            os.environ.pop("LOCAL_RANK", None)
            torch.set_num_threads(threads_before)
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                # the next training in this session starts a fresh group with fresh ranks
                torch.distributed.destroy_process_group()

    def _join_workers(self, wait: float, check: bool = False) -> None:
        for process in self.procs:
            process.join(wait)
            if process.is_alive():
                if wait:
                    logger.warning("DDP %s still running after rank 0 ended", process.name)
                process.terminate()
                process.join()
        failed = [p.name for p in self.procs if p.exitcode != 0]
        self.procs = []
        if check and failed:
            raise RuntimeError(f"DDP worker(s) {', '.join(failed)} failed; see their log above")

    def kill(self, signum: int) -> None:
        for process in self.procs:
            if process.is_alive():
                os.kill(process.pid, signum)


class InProcessDDPStrategy(DDPStrategy):
    """Lightning's DDP with :class:`InProcessLauncher` (module doc)."""

    strategy_name = "ddp_in_process"

    def _configure_launcher(self) -> None:
        self._launcher = InProcessLauncher(self)
