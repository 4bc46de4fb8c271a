"""Progress of a long L-BFGS fit: a tqdm bar over the iterations and a time estimate.

:class:`LbfgsProgress` follows scikit-learn 1.9's ``sklearn.callback.FitCallback`` protocol
(``LogisticRegression(solver="lbfgs").set_callbacks(...)``), which calls
``on_fit_task_end`` once per L-BFGS iteration (task ``"lbfgs-iter"``). scikit-learn's own
``ProgressBar`` callback needs ``rich`` and prints no time estimate, hence this small one.

:func:`solver_memory_estimate` is what the multinomial L-BFGS fit allocates on top of the
features, logged before a fit so that a too-large label powerset shows before it runs.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

from tqdm.auto import tqdm

__all__ = ["LbfgsProgress", "SolverMemory", "format_bytes", "solver_memory_estimate"]

#: scipy's L-BFGS-B keeps this many correction pairs (``maxcor``; scikit-learn leaves the default)
LBFGS_HISTORY = 10


def format_bytes(n: float) -> str:
    """``1536`` → ``'1.5 KiB'``; powers of 1024."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class SolverMemory:
    """Bytes a multinomial L-BFGS fit allocates besides the feature matrix."""

    per_sample: int  # raw predictions and pointwise gradients, [docs × classes] each
    history: int  # L-BFGS: 2 × maxcor float64 vectors of the [classes × (features + 1)] weights

    @property
    def total(self) -> int:
        return self.per_sample + self.history


def solver_memory_estimate(
    n_docs: int, n_classes: int, n_features: int, itemsize: int
) -> SolverMemory:
    """The dense arrays of scikit-learn's multinomial ``lbfgs`` fit (a lower bound).

    ``itemsize`` is the features' float size (scikit-learn computes in float32 for float32
    features); scipy's L-BFGS-B history is float64 whatever the input. Line-search copies of
    the weights and the gradient (a few more ``classes × features`` vectors) come on top.
    """
    weights = n_classes * (n_features + 1)
    return SolverMemory(
        per_sample=2 * n_docs * n_classes * itemsize,
        history=2 * LBFGS_HISTORY * weights * 8,
    )


class LbfgsProgress:
    """A ``FitCallback``: a tqdm bar over L-BFGS iterations; logs an estimate early on.

    After ``estimate_after`` iterations it logs the mean time per iteration and the time
    ``max_iter`` iterations would take (an upper bound: L-BFGS stops earlier on convergence).
    The bar goes to ``file`` (stderr by default); ``disable=True`` hides it.
    """

    def __init__(
        self,
        max_iter: int,
        desc: str = "L-BFGS",
        estimate_after: int = 3,
        logger: logging.Logger | None = None,
        file=None,
        disable: bool = False,
    ) -> None:
        self.max_iter = max_iter
        self.desc = desc
        self.estimate_after = estimate_after
        self.logger = logger or logging.getLogger(__name__)
        self.file = file
        self.disable = disable
        self.iterations = 0

    def setup(self, estimator, context) -> None:
        self.iterations = 0
        self._started = time.perf_counter()
        self._bar = tqdm(
            total=self.max_iter,
            desc=self.desc,
            unit="it",
            file=self.file if self.file is not None else sys.stderr,
            disable=self.disable,
            mininterval=1.0,
        )

    def on_fit_task_begin(self, estimator, context, *, X=None) -> None:
        return None

    def on_fit_task_end(self, estimator, context, *, X=None) -> bool:
        # scikit-learn ends one more "lbfgs-iter" task than scipy ran (the one begun after
        # the last iteration), without X: that one is not counted.
        if context.task_name != "lbfgs-iter" or X is None:
            return False
        self.iterations += 1
        self._bar.update(1)
        if self.iterations == self.estimate_after:
            per_iteration = (time.perf_counter() - self._started) / self.iterations
            self.logger.info(
                "%s: %.2f s per iteration after %d; at most %d iterations ≈ %s "
                "(stops earlier when converged)",
                self.desc,
                per_iteration,
                self.iterations,
                self.max_iter,
                _duration(per_iteration * self.max_iter),
            )
        return False

    def teardown(self, estimator, context) -> None:
        self._bar.close()
        self.logger.info(
            "%s: %d iterations in %s",
            self.desc,
            self.iterations,
            _duration(time.perf_counter() - self._started),
        )


def _duration(seconds: float) -> str:
    """``75.0`` → ``'1 min 15 s'``."""
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"
