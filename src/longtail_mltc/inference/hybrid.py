"""Label raw text with a trained HSCNN and its hybrid merge (METHODS §1.7, §1.8).

A :class:`HybridTextLabeler` decides each label as the HSCNN evaluation does: head labels
(``N_c ≥ N_φ``) by the single-network probability ``p ≥ head threshold`` (chosen on
validation), tail labels (``N_c < N_φ``) by the Siamese similarity ``s > 0.5`` to the label's
prototype, or by the vote share of its ``K`` support documents with ``majority_vote``. Scores
are the merged matrix: probabilities in head columns, similarities in tail columns.

Instead of the training corpus the labeler keeps the **encoded support set**: the
representations of the distinct support documents and each tail label's rows of them
(:func:`~longtail_mltc.training.hybrid_prediction.encode_tail_support`, computed with the
trained weights by the pipeline, so the prototypes are exactly those of the evaluation). The
Naive and /MT variants take head probabilities from the untouched single network (§1.9); their
labeler carries that network as ``head_model``.

Files beside :class:`~longtail_mltc.inference.TextLabeler`'s: ``model.safetensors`` holds the
HSCNN (classifier + comparison head), ``support.safetensors`` the support set and the
training label counts, ``head_model.safetensors`` the single network when there is one;
``model_config.json`` adds ``kind: hscnn``, ``gated``, ``bound``, ``n_phi``,
``majority_vote`` and ``rule``: the :class:`~longtail_mltc.evaluation.calibration.HybridRule`
(Siamese-decided labels and their thresholds; the paper's rule, or one calibrated on
validation), as plain JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from longtail_mltc.evaluation.calibration import HybridRule, paper_rule
from longtail_mltc.models.siamese import HybridSiameseNetwork
from longtail_mltc.models.support import DEFAULT_MAX_ELEMENTS, SupportSet, scorer_from_support

from ..training.hybrid_prediction import encode_and_score
from .labeler import MODEL_FILE, Preprocessing, StoredLabeler, TextLabeler, cpu_state_dict
from .scores import predict_scores

__all__ = ["HybridTextLabeler"]

SUPPORT_FILE = "support.safetensors"
HEAD_MODEL_FILE = "head_model.safetensors"
CLASSIFIER_PREFIX = "classifier."
HYBRID_CONFIG_KEYS = ("gated", "n_phi", "majority_vote", "head_from_single")


class HybridTextLabeler(TextLabeler):
    """Raw texts → merged scores and hybrid decisions of a trained HSCNN (module doc).

    ``threshold``: the head labels' threshold; ``label_counts``: training ``N_c`` ``[C]``;
    ``support``: the encoded support set of the tail labels at ``n_phi`` in ascending label
    order (``support.index`` has one row per tail label); ``head_model``: a single network
    whose probabilities decide the head labels instead of the HSCNN's own head.
    """

    KIND = "hscnn"
    STATE_PREFIX = CLASSIFIER_PREFIX

    def __init__(
        self,
        model: HybridSiameseNetwork,
        preprocessing: Preprocessing,
        label_index: list[str],
        threshold: float,
        label_counts: np.ndarray,
        n_phi: int,
        support: SupportSet,
        vocabulary: Any = None,
        max_chars: int = 100_000,
        batch_size: int = 64,
        *,
        majority_vote: bool = False,
        head_model: nn.Module | None = None,
        max_score_elements: int = DEFAULT_MAX_ELEMENTS,
        model_config: dict[str, Any] | None = None,
        rule: HybridRule | None = None,
    ) -> None:
        if not isinstance(model, HybridSiameseNetwork):
            raise TypeError(f"model must be a HybridSiameseNetwork, got {type(model).__name__}")
        super().__init__(
            model,
            preprocessing,
            label_index,
            threshold,
            vocabulary,
            max_chars,
            batch_size,
            model_config=model_config,
        )
        counts = np.asarray(label_counts)
        if counts.shape != (self.num_labels,) or model.num_labels != self.num_labels:
            raise ValueError(
                f"label_counts {counts.shape} and the model's {model.num_labels} labels must "
                f"match the {self.num_labels} labels of label_index"
            )
        self.label_counts = counts.astype(np.int64)
        self.n_phi = int(n_phi)
        if rule is None:  # the paper's rule: every label under N_φ at s > 0.5
            rule = paper_rule(self.label_counts, self.n_phi, threshold)
        elif rule.single_threshold != float(threshold):
            raise ValueError(
                f"threshold {threshold} differs from the rule's single threshold "
                f"{rule.single_threshold}"
            )
        self.rule = rule
        self.tail = rule.siamese_labels
        rule.mask(self.num_labels)  # checks the rule's labels against the label index
        index = torch.as_tensor(support.index, dtype=torch.int64)
        if index.ndim != 2 or index.shape[0] != self.tail.size:
            raise ValueError(
                f"support index has shape {tuple(index.shape)}; expected ({self.tail.size}, K), "
                f"one row per Siamese-decided label ({rule.name} rule, N_c < {rule.n_phi})"
            )
        reps = support.representations
        if index.numel() and int(index.max()) >= reps.shape[0]:
            raise ValueError(
                f"support index refers to row {int(index.max())} of {reps.shape[0]} "
                "support representations"
            )
        self.support = SupportSet(reps, index)
        self.majority_vote = bool(majority_vote)
        # prototypes (or per-support representations) are built once, not per request; the
        # model must therefore sit on its final device before the labeler is made
        self._tail_scorer = None
        if self.tail.size:
            self._tail_scorer = scorer_from_support(
                model.comparison,
                self.support,
                torch.as_tensor(self.tail, dtype=torch.int64),
                majority=self.majority_vote,
                max_elements=int(max_score_elements),
            )
        if head_model is not None:
            head = getattr(head_model, "head", None)
            if not isinstance(head, nn.Linear) or head.out_features != self.num_labels:
                raise ValueError(f"head_model must be a classifier of {self.num_labels} labels")
            head_model = head_model.eval()
        self.head_model = head_model

    def scores(self, texts: Any) -> np.ndarray:
        """Merged scores ``[N, C]``: probabilities (head labels), similarities (tail labels)."""
        return self.decide(texts)[0]

    def decide(self, texts: Any) -> tuple[np.ndarray, np.ndarray]:
        """Merged scores and hybrid decisions (§1.8), scored as the evaluation scores a split."""
        split = self.encoded_split(texts)
        joint, tail_scores = encode_and_score(
            self.model, split, self._tail_scorer, self.tail.size, self.batch_size
        )
        base = joint  # the HSCNN's own (joint) head, unless a single network decides
        if self.head_model is not None:
            base, _ = predict_scores(self.head_model, split, self.batch_size)
        return self.rule.merge_columns(base, tail_scores, joint)

    # --- files ------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "gated": self.model.gated,
            "bound": self.model.bound,
            "n_phi": self.n_phi,
            "majority_vote": self.majority_vote,
            "head_from_single": self.head_model is not None,
            "rule": self.rule.to_dict(),
        }

    def tensor_files(self) -> dict[str, dict[str, torch.Tensor]]:
        files = {
            **super().tensor_files(),
            SUPPORT_FILE: {
                "representations": self.support.representations.detach().cpu().contiguous(),
                "index": self.support.index.cpu().contiguous(),
                "label_counts": torch.from_numpy(self.label_counts),
            },
        }
        if self.head_model is not None:
            files[HEAD_MODEL_FILE] = cpu_state_dict(self.head_model)
        return files

    @classmethod
    def from_stored(
        cls, stored: StoredLabeler, *, device: torch.device, max_chars: int, batch_size: int
    ) -> HybridTextLabeler:
        config = stored.config
        missing = [k for k in HYBRID_CONFIG_KEYS if k not in config]
        if missing:
            raise ValueError(f"{stored.root}/model_config.json lacks {missing}")
        state = stored.tensors(MODEL_FILE)
        model = HybridSiameseNetwork(
            stored.classifier(state, CLASSIFIER_PREFIX),
            gated=bool(config["gated"]),
            bound=str(config.get("bound", "none")),  # predictors saved before bounds: none
        )
        model.load_state_dict(state, strict=True)
        head_model = None
        if config["head_from_single"]:
            head_model = stored.classifier(stored.tensors(HEAD_MODEL_FILE)).to(device)
        support = stored.tensors(SUPPORT_FILE)
        return cls(
            model.to(device),
            stored.preprocessing,
            stored.label_index,
            float(config["threshold"]),
            support["label_counts"].numpy(),
            int(config["n_phi"]),
            SupportSet(support["representations"], support["index"]),
            stored.vocabulary,
            max_chars,
            batch_size,
            majority_vote=bool(config["majority_vote"]),
            head_model=head_model,
            model_config=stored.model_config,
            rule=HybridRule.from_dict(config["rule"]) if "rule" in config else None,
        )
