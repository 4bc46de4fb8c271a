"""The training engine: one Lightning ``Trainer`` factory, batching and checkpoints shared by
every method (DESIGN "Layers": no tracking library here; metrics leave through callbacks).

A method is a ``LightningModule`` that says what to compute (its step, its validation signal,
its early stopping); :func:`make_trainer` says how to train (device, precision, epochs,
checkpoints). ``logger=False``: Lightning's MLflow logger would end the kedro-mlflow run when
``fit`` returns, so metrics go to the configuration run through the project's callbacks.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from longtail_mltc.atomic_files import fsync_directory, fsync_file

from .data import (
    EncodedSplit,
    bucketed_batch_count,
    bucketed_batches,
    collate,
    sequential_batches,
)

PRECISIONS: tuple[str, ...] = ("auto", "32", "bf16-mixed", "16-mixed")
LAST_CHECKPOINT = "last.ckpt"


ACCELERATORS: tuple[str, ...] = ("auto", "cpu", "gpu")


def check_devices(
    accelerator: str, devices: int, precision: str, owner: str, num_nodes: int = 1
) -> None:
    """The device settings of a training block, with Lightning's meanings (docs/models.md,
    "Devices")."""
    if accelerator not in ACCELERATORS:
        raise ValueError(f"{owner}.accelerator must be one of {ACCELERATORS}, got {accelerator!r}")
    for name, count in (("devices", devices), ("num_nodes", num_nodes)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"{owner}.{name} must be an integer ≥ 1, got {count!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"{owner}.precision must be one of {PRECISIONS}, got {precision!r}")


def resolve_accelerator(accelerator: str) -> str:
    """``auto`` → ``gpu`` when torch sees CUDA, else ``cpu``."""
    if accelerator == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    return accelerator


def resolve_precision(precision: str, accelerator: str) -> str:
    """``auto`` → ``bf16-mixed`` on a GPU with bf16 support, else ``32``.

    On the CPUs measured here bf16 autocast is 10.7× slower than fp32 for the Kim CNN and
    fails for the BiLSTM (``benchmarks/bench_cpu_bf16.py``), so the CPU keeps fp32; on a GPU
    with bf16 (Ampere and later) mixed bf16 is Lightning's usual choice and needs no loss
    scaling.
    """
    if precision != "auto":
        return precision
    on_gpu = resolve_accelerator(accelerator) == "gpu"
    return "bf16-mixed" if on_gpu and torch.cuda.is_bf16_supported() else "32"


def inference_device(accelerator: str) -> torch.device:
    """Where a trained model predicts: the first GPU, or the CPU."""
    return torch.device("cuda" if resolve_accelerator(accelerator) == "gpu" else "cpu")


def make_trainer(
    *,
    max_epochs: int,
    accelerator: str = "auto",
    devices: int = 1,
    num_nodes: int = 1,
    precision: str = "32",
    accumulate_grad_batches: int = 1,
    callbacks: Sequence[L.Callback] = (),
) -> L.Trainer:
    """The one ``Trainer`` every method trains with.

    Validation runs once per epoch with no sanity pass; the method's module keeps the best
    weights and decides early stopping, so Lightning's own checkpointing, logger, progress bar
    and model summary are off (the per-epoch log line and the tracked curves replace them).
    ``devices > 1``: DDP launched from this process (:mod:`.distributed`), gloo on CPU and
    NCCL on GPU.
    """
    check_devices(accelerator, devices, precision, "training", num_nodes)
    precision = resolve_precision(precision, accelerator)
    accelerator = resolve_accelerator(accelerator)
    strategy: Any = "auto"
    if devices > 1 or num_nodes > 1:
        from .distributed import InProcessDDPStrategy

        backend = "nccl" if accelerator == "gpu" else "gloo"
        strategy = InProcessDDPStrategy(process_group_backend=backend)
    # Lightning's info lines ("GPU available: False", "`Trainer.fit` stopped") repeat what the
    # per-epoch log says; its warnings still show
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    with warnings.catch_warnings():  # "GPU available but not used" etc. are not for our users
        warnings.simplefilter("ignore")
        return L.Trainer(
            accelerator=accelerator,
            devices=devices,
            num_nodes=num_nodes,
            strategy=strategy,
            precision=precision,
            max_epochs=max_epochs,
            accumulate_grad_batches=accumulate_grad_batches,
            callbacks=list(callbacks),
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            use_distributed_sampler=False,
            # None leaves torch's setting alone: False would switch off the deterministic
            # kernels seed_everything asked for, for the whole process
            deterministic=None,
        )


class BatchRows(Dataset):
    """``dataset[index_array]`` → one collated batch of an :class:`EncodedSplit` on the CPU
    (Lightning moves it to the device), with the rows' positions for scattering outputs back."""

    def __init__(self, split: EncodedSplit, with_labels: bool = True) -> None:
        self.split, self.with_labels = split, with_labels

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids, targets = collate(self.split, index, torch.device("cpu"), self.with_labels)
        if targets is None:
            targets = torch.empty(0)
        return ids, targets, torch.from_numpy(np.asarray(index, dtype=np.int64))


def accumulation_weights(
    batches: Sequence[np.ndarray], window: int, sizes: np.ndarray | None = None
) -> list[float]:
    """Each batch's share of its window of ``window`` consecutive batches.

    A batch's size is its number of rows, or the sum of ``sizes[rows]`` when a loss averages
    over something else (SGM: the label steps). Weighting each batch's mean loss by this share
    makes the accumulated gradient that of one batch holding the whole window (the last window
    may be shorter).
    """
    weight = np.array([batch_size(b, sizes) for b in batches], dtype=np.float64)
    totals = np.add.reduceat(weight, np.arange(0, len(weight), window)) if len(weight) else weight
    return (weight / np.repeat(totals, window)[: len(weight)]).tolist()


def batch_size(rows: np.ndarray, sizes: np.ndarray | None = None) -> float:
    """Rows in a batch, or what their ``sizes`` add up to."""
    return float(len(rows) if sizes is None else sizes[rows].sum())


class EpochBatchSampler(Sampler[np.ndarray]):
    """Batches drawn once per epoch (:meth:`draw`) from one seeded generator whose state a
    checkpoint carries: a resumed training draws the batches the uninterrupted one would have.

    The batches are *global*: under DDP (:meth:`shard`) each rank yields its share of every
    batch, so ``devices: 2`` trains on the batches of ``devices: 1`` (docs/models.md "Devices").
    """

    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self.rng = np.random.default_rng(seed)
        self.epoch: int | None = None
        self.batches: list[np.ndarray] = []
        self.rank, self.world = 0, 1

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError

    def shard(self, rank: int, world: int) -> None:
        self.rank, self.world = rank, world

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before each epoch (0-based): draws the batches of an epoch not yet
        drawn. Earlier epochs are ignored (Lightning also calls it while restoring)."""
        if self.epoch is None or epoch > self.epoch:
            self.epoch = epoch
            self.batches = self.draw(self.rng)

    def local(self, batch: np.ndarray) -> np.ndarray:
        """This rank's rows of a global batch; a rank left without any takes one row that its
        loss weight (:meth:`loss_weights`) zeroes, since every rank must take every step."""
        part = batch[self.rank :: self.world]
        return part if part.size else batch[:1]

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.epoch is None:
            self.set_epoch(0)
        return (self.local(batch) for batch in self.batches)

    def __len__(self) -> int:
        """Batches per epoch, the same every epoch (Lightning reads it before ``set_epoch``)."""
        return self.count

    def loss_weights(self, window: int, sizes: np.ndarray | None = None) -> list[float]:
        """The factor of each of this rank's batch losses that makes the step exact.

        Lightning divides an accumulated loss by the window length and DDP averages gradients
        over ranks; weighted by ``local size / window size × window × world``, the optimiser
        step is that of one batch holding the whole window. A size counts rows, or what the
        loss averages over (``sizes`` per row, see :func:`accumulation_weights`).
        """
        shares = accumulation_weights(self.batches, window, sizes)
        return [
            share
            * batch_size(batch[self.rank :: self.world], sizes)
            / batch_size(batch, sizes)
            * window
            * self.world
            for share, batch in zip(shares, self.batches, strict=True)
        ]

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.epoch, self.batches = state["epoch"], []  # set_epoch(epoch + 1) draws the next


class BucketedBatchSampler(EpochBatchSampler):
    """Length-bucketed shuffled batches of documents (:func:`bucketed_batches`)."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, bucket_factor: int):
        super().__init__(bucketed_batch_count(len(lengths), batch_size, bucket_factor), seed)
        self.lengths, self.batch_size, self.bucket_factor = lengths, batch_size, bucket_factor

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        return bucketed_batches(self.lengths, self.batch_size, rng, self.bucket_factor)


class ShuffledBatchSampler(EpochBatchSampler):
    """Consecutive batches of one permutation of ``n`` examples per epoch (triplets)."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        super().__init__(-(-n // batch_size), seed)
        self.n, self.batch_size = n, batch_size

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        order = rng.permutation(self.n)
        return [order[i : i + self.batch_size] for i in range(0, self.n, self.batch_size)]


class IndexBatches(Dataset):
    """``dataset[index_array]`` → the indices as a tensor (the step gathers what they name)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(index, dtype=np.int64))


def training_loader(dataset: Dataset, sampler: EpochBatchSampler) -> DataLoader:
    # batch_size=None: the sampler yields whole index arrays and the dataset collates them at
    # once (one numpy gather per batch instead of one Python call per document)
    return DataLoader(dataset, sampler=sampler, batch_size=None, generator=_unused())


def evaluation_loader(split: EncodedSplit, batch_size: int, with_labels: bool) -> DataLoader:
    """Batches in order of length (little padding); rows come back by position."""
    order = np.argsort(split.lengths, kind="stable")
    batches = [order[b] for b in sequential_batches(len(split), batch_size)]
    return DataLoader(
        BatchRows(split, with_labels), sampler=batches, batch_size=None, generator=_unused()
    )


def _unused() -> torch.Generator:
    """A DataLoader draws a worker seed from its generator at every iteration; with its own
    generator that draw leaves the global stream (dropout) alone, so training draws the same
    dropout masks as a plain loop, and a resumed run as an uninterrupted one."""
    return torch.Generator().manual_seed(0)


def save_checkpoint_atomically(trainer: L.Trainer, directory: Path) -> Path:
    """``trainer.save_checkpoint`` to ``directory/last.ckpt`` through a temporary file, so a
    kill while writing leaves the previous checkpoint intact.

    Every rank calls it: Lightning's ``save_checkpoint`` ends in a barrier (rank 0 alone
    would wait there for ever), and only rank 0 writes.
    """
    final = directory / LAST_CHECKPOINT
    partial = directory / f".{LAST_CHECKPOINT}.partial"
    if trainer.is_global_zero:
        directory.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(partial, weights_only=False)
    if trainer.is_global_zero:
        fsync_file(partial)
        os.replace(partial, final)
        fsync_directory(directory)
    return final


class EpochCheckpoint(L.Callback):
    """``last.ckpt`` after every epoch's validation and early-stopping decision."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # where Lightning's own ModelCheckpoint saves when validation ends an epoch: the point
        # its loops resume from at the start of the next epoch
        if not trainer.sanity_checking:
            save_checkpoint_atomically(trainer, self.directory)


def train_module(
    module: L.LightningModule,
    config: Any,
    *,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> Any:
    """Fit a method's module (``module.stopping``, ``module.model``) with :func:`make_trainer`;
    load the best weights into its model, on the CPU, and return its ``FitResult``.

    ``config``: the method's :class:`~.config.EngineConfig`. ``checkpoint_dir``: write
    ``last.ckpt`` there after every epoch (weights, optimiser, plateau schedule, early-stopping
    state, sampler and RNG state); ``resume=True`` continues from it when it exists, and ends
    with what the uninterrupted training would have (a fresh training removes it first).
    """
    callbacks: list[L.Callback] = []
    ckpt_path = None
    if checkpoint_dir is not None:
        last = Path(checkpoint_dir) / LAST_CHECKPOINT
        if resume and last.exists():
            ckpt_path = last
            logging.getLogger(__name__).info("resuming from %s", last)
        elif last.exists():
            last.unlink()
        callbacks.append(EpochCheckpoint(Path(checkpoint_dir)))
    trainer = make_trainer(
        max_epochs=config.max_epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        precision=config.precision,
        accumulate_grad_batches=config.accumulate_grad_batches,
        callbacks=callbacks,
    )
    # weights_only: a checkpoint is read as tensors and plain containers, never as code
    trainer.fit(module, ckpt_path=ckpt_path, weights_only=True)
    best = module.stopping.result
    module.model.load_state_dict(best.best_state)
    module.model.to("cpu")
    return best
