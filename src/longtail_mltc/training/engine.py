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

from .data import (
    EncodedSplit,
    bucketed_batch_count,
    bucketed_batches,
    collate,
    sequential_batches,
)

PRECISIONS: tuple[str, ...] = ("32", "bf16-mixed", "16-mixed")
LAST_CHECKPOINT = "last.ckpt"


def accelerator_of(device: str) -> tuple[str, list[int] | int]:
    """``TrainConfig.device`` → Lightning's (accelerator, devices): ``auto`` picks CUDA when
    torch sees one; ``cuda:1`` is GPU 1."""
    if device == "auto":
        return ("gpu", 1) if torch.cuda.is_available() else ("cpu", 1)
    kind, _, index = device.partition(":")
    if kind == "cpu":
        return "cpu", 1
    if kind == "cuda":
        return "gpu", [int(index)] if index else 1
    raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:<index>")


def make_trainer(
    *,
    max_epochs: int,
    device: str = "auto",
    precision: str = "32",
    accumulate_grad_batches: int = 1,
    callbacks: Sequence[L.Callback] = (),
) -> L.Trainer:
    """The one ``Trainer`` every method trains with.

    Validation runs once per epoch with no sanity pass; the method's module keeps the best
    weights and decides early stopping, so Lightning's own checkpointing, logger, progress bar
    and model summary are off (the per-epoch log line and the tracked curves replace them).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    accelerator, devices = accelerator_of(device)
    # Lightning's info lines ("GPU available: False", "`Trainer.fit` stopped") repeat what the
    # per-epoch log says; its warnings still show
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    with warnings.catch_warnings():  # "GPU available but not used" etc. are not for our users
        warnings.simplefilter("ignore")
        return L.Trainer(
            accelerator=accelerator,
            devices=devices,
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


class BucketedBatchSampler(Sampler[np.ndarray]):
    """Length-bucketed shuffled batches (:func:`bucketed_batches`), drawn once per epoch from one
    seeded generator whose state a checkpoint carries: a resumed training draws the batches the
    uninterrupted one would have."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, bucket_factor: int):
        self.lengths, self.batch_size, self.bucket_factor = lengths, batch_size, bucket_factor
        self.rng = np.random.default_rng(seed)
        self.epoch: int | None = None
        self.batches: list[np.ndarray] = []

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before each epoch (0-based): draws the batches of an epoch not yet
        drawn. Earlier epochs are ignored (Lightning also calls it while restoring)."""
        if self.epoch is None or epoch > self.epoch:
            self.epoch = epoch
            self.batches = bucketed_batches(
                self.lengths, self.batch_size, self.rng, self.bucket_factor
            )

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.epoch is None:
            self.set_epoch(0)
        return iter(self.batches)

    def __len__(self) -> int:
        """Batches per epoch, the same every epoch (Lightning reads it before ``set_epoch``)."""
        return bucketed_batch_count(len(self.lengths), self.batch_size, self.bucket_factor)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.epoch, self.batches = state["epoch"], []  # set_epoch(epoch + 1) draws the next


def training_loader(split: EncodedSplit, sampler: BucketedBatchSampler) -> DataLoader:
    # batch_size=None: the sampler yields whole index arrays and the dataset collates them at
    # once (one numpy gather per batch instead of one Python call per document)
    return DataLoader(BatchRows(split), sampler=sampler, batch_size=None, generator=_unused())


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
    kill while writing leaves the previous checkpoint intact."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / LAST_CHECKPOINT
    partial = directory / f".{LAST_CHECKPOINT}.partial"
    trainer.save_checkpoint(partial, weights_only=False)
    os.replace(partial, final)
    return final


class EpochCheckpoint(L.Callback):
    """``last.ckpt`` after every epoch's validation and early-stopping decision."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # where Lightning's own ModelCheckpoint saves when validation ends an epoch: the point
        # its loops resume from at the start of the next epoch
        if trainer.is_global_zero and not trainer.sanity_checking:
            save_checkpoint_atomically(trainer, self.directory)
