"""Label-group rules: absolute or relative cut points for head/medium/tail (METHODS §3.1).

A rule fixes each of the two cuts either absolutely (``head_min``: head is ``N_c >= head_min``;
``tail_max``: tail is ``N_c <= tail_max``) or relatively, as a quantile of the training label
counts (``head_quantile``, ``tail_quantile``). :func:`resolve_group_cuts` turns a rule and the
counts into the two integer cut points that :func:`~longtail_mltc.labels.stats.label_groups`
takes. Absolute cuts are used as given (Reuters' 35/8 must not move); quantile cuts are moved to
the next distinct count when ties would otherwise leave a group empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from longtail_mltc.config_errors import configuration_error

__all__ = [
    "DEFAULT_GROUP_RULE",
    "GROUP_NAMES",
    "GroupRule",
    "empty_group_message",
    "group_ranges",
    "label_group_rule",
    "parse_group_rule",
    "resolve_group_cuts",
]

GROUP_NAMES = ("head", "medium", "tail")
_KEYS = ("head_min", "tail_max", "head_quantile", "tail_quantile")


@dataclass(frozen=True)
class GroupRule:
    """Each cut is absolute (``head_min`` / ``tail_max``) or a quantile, never both."""

    head_min: int | None = None
    tail_max: int | None = None
    head_quantile: float | None = None
    tail_quantile: float | None = None

    @property
    def is_absolute(self) -> bool:
        return self.head_quantile is None and self.tail_quantile is None

    def to_dict(self) -> dict[str, int | float]:
        """The keys that are set, as in the YAML (``{head_min: 35, tail_max: 8}``)."""
        return {key: getattr(self, key) for key in _KEYS if getattr(self, key) is not None}


#: A corpus without a ``groups`` profile: about thirds of the training label counts (the same
#: numbers as the default in conf/base/parameters_label_stats.yml).
DEFAULT_GROUP_RULE = GroupRule(head_quantile=0.667, tail_quantile=0.333)


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not (
        isinstance(value, Integral) or (isinstance(value, Real) and float(value).is_integer())
    ):
        raise configuration_error(key, "an integer label count", value)
    return int(value)


def _quantile(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= float(value) <= 1.0:
        raise configuration_error(key, "a quantile between 0 and 1", value)
    return float(value)


def parse_group_rule(
    groups: Mapping[str, Any] | GroupRule | None,
    *,
    head_min: Any = None,
    tail_max: Any = None,
    key: str = "label_stats.groups",
) -> GroupRule:
    """The rule of ``groups`` (YAML mapping), with ``head_min`` / ``tail_max`` overriding its cuts.

    Precedence per cut: an explicit ``head_min`` / ``tail_max`` argument (``--params
    label_stats.head_min=40``) replaces whatever ``groups`` says for that cut; ``groups=None``
    means :data:`DEFAULT_GROUP_RULE`. ConfigurationError (naming ``key``) for unknown keys, a
    cut given twice or not at all, non-integer counts, quantiles outside [0, 1], and
    ``tail_max >= head_min`` or ``tail_quantile >= head_quantile``.
    """
    if groups is None:
        groups = DEFAULT_GROUP_RULE
    if isinstance(groups, GroupRule):
        groups = groups.to_dict()
    if not isinstance(groups, Mapping):
        raise configuration_error(
            key, "a mapping {head_min, tail_max} or {head_quantile, tail_quantile}", groups
        )
    unknown = sorted(set(groups) - set(_KEYS))
    if unknown:
        raise configuration_error(
            f"{key}.{unknown[0]}", f"one of the keys {', '.join(_KEYS)}", groups[unknown[0]]
        )
    cuts: dict[str, Any] = {}
    source: dict[str, str] = {}  # the key each cut came from, for the messages below
    for side, absolute, relative, override, override_key in (
        ("head", "head_min", "head_quantile", head_min, "label_stats.head_min"),
        ("tail", "tail_max", "tail_quantile", tail_max, "label_stats.tail_max"),
    ):
        if override is not None:
            cuts[absolute] = _integer(override, override_key)
            source[absolute] = override_key
            continue
        given = [k for k in (absolute, relative) if groups.get(k) is not None]
        if len(given) != 1:
            raise configuration_error(
                key,
                f"exactly one of {absolute} or {relative} for the {side} cut",
                dict(groups) or None,
            )
        source[given[0]] = f"{key}.{given[0]}"
        if given[0] == absolute:
            cuts[absolute] = _integer(groups[absolute], source[absolute])
        else:
            cuts[relative] = _quantile(groups[relative], source[relative])
    rule = GroupRule(**cuts)
    if rule.head_min is not None and rule.tail_max is not None and rule.tail_max >= rule.head_min:
        raise configuration_error(
            source["tail_max"],
            f"a count below head_min ({rule.head_min}, {source['head_min']})",
            rule.tail_max,
        )
    both = rule.head_quantile is not None and rule.tail_quantile is not None
    if both and rule.tail_quantile >= rule.head_quantile:  # type: ignore[operator]
        raise configuration_error(
            source["tail_quantile"],
            f"a quantile below head_quantile ({rule.head_quantile})",
            rule.tail_quantile,
        )
    return rule


def label_group_rule(label_stats: Mapping[str, Any]) -> GroupRule:
    """The rule of the ``label_stats`` parameters: ``groups`` (the corpus profile's rule or the
    relative default), with ``head_min`` / ``tail_max`` (``--params``) overriding its cuts."""
    return parse_group_rule(
        label_stats.get("groups"),
        head_min=label_stats.get("head_min"),
        tail_max=label_stats.get("tail_max"),
        key="label_stats.groups",
    )


def resolve_group_cuts(
    counts: np.ndarray, rule: GroupRule | Mapping[str, Any] | None
) -> tuple[int, int]:
    """``(head_min, tail_max)`` of ``rule`` on the training label ``counts`` (pure).

    Absolute cuts are returned as given. A quantile cut is numpy's linear quantile of
    ``counts`` (every label of the index, zero counts included), rounded down for the tail and
    up for the head, then snapped to a count that occurs. When ties would leave a group empty,
    a quantile cut moves to the next distinct count: with both cuts relative and at least three
    distinct counts the three groups are never empty; with fewer, medium is left empty (two
    distinct counts) or every label is tail (one). Always ``tail_max < head_min``.
    """
    rule = rule if isinstance(rule, GroupRule) else parse_group_rule(rule)
    counts = np.asarray(counts, dtype=np.int64)
    if rule.is_absolute:
        return int(rule.head_min), int(rule.tail_max)  # type: ignore[arg-type]
    distinct = np.unique(counts)
    n = distinct.size
    if n == 0:  # no labels: any valid pair that keeps the absolute cut
        if rule.head_min is not None:
            return int(rule.head_min), int(rule.head_min) - 1
        tail = rule.tail_max if rule.tail_max is not None else 0
        return int(tail) + 1, int(tail)
    # Cuts as indices into ``distinct``: tail = distinct[: i_t + 1], head = distinct[i_h:].
    if rule.tail_quantile is not None:
        tail_value = math.floor(float(np.quantile(counts, rule.tail_quantile)))
    else:
        tail_value = int(rule.tail_max)  # type: ignore[arg-type]
    if rule.head_quantile is not None:
        head_value = math.ceil(float(np.quantile(counts, rule.head_quantile)))
    else:
        head_value = int(rule.head_min)  # type: ignore[arg-type]
    i_t = int(np.searchsorted(distinct, tail_value, side="right")) - 1
    i_h = int(np.searchsorted(distinct, head_value, side="left"))
    both = rule.head_quantile is not None and rule.tail_quantile is not None
    if both and n >= 3:
        i_t = min(i_t, n - 3)  # leave room above the tail for medium and head
        i_h = max(i_h, i_t + 2)
    elif both:
        i_t, i_h = 0, 1  # two counts: tail and head; one count: every label is tail
    else:
        if rule.head_quantile is not None and i_h - i_t < 2:
            i_h = min(i_t + 2, n)
        if rule.tail_quantile is not None and i_h - i_t < 2:
            i_t = max(i_h - 2, -1)
    if rule.head_quantile is not None:
        top = int(distinct[-1]) if rule.tail_max is None else max(int(distinct[-1]), rule.tail_max)
        head_min = int(distinct[i_h]) if i_h < n else top + 1
    else:
        head_min = int(rule.head_min)  # type: ignore[arg-type]
    if rule.tail_quantile is not None:
        tail_max = int(distinct[i_t]) if i_t >= 0 else int(distinct[0]) - 1
        tail_max = min(tail_max, head_min - 1)
    else:
        tail_max = int(rule.tail_max)  # type: ignore[arg-type]
    return head_min, tail_max


def group_ranges(head_min: int, tail_max: int) -> dict[str, str]:
    """The count range each group covers, for messages: ``{"head": "N_c >= 35", ...}``."""
    if head_min - tail_max > 1:
        medium = f"{tail_max + 1} <= N_c <= {head_min - 1}"
    else:
        medium = f"no count (nothing lies between {tail_max} and {head_min})"
    return {"head": f"N_c >= {head_min}", "medium": medium, "tail": f"N_c <= {tail_max}"}


def empty_group_message(
    group: str, corpus: str, counts: np.ndarray, head_min: int, tail_max: int
) -> str:
    """One line for an empty group: the group, the corpus, the cut points and the counts."""
    counts = np.asarray(counts)
    span = f"{int(counts.min())}..{int(counts.max())}" if counts.size else "none (no labels)"
    return (
        f"label group {group!r} of corpus {corpus!r} is empty: it holds "
        f"{group_ranges(head_min, tail_max)[group]} (head_min={head_min}, "
        f"tail_max={tail_max}), and the {counts.size} training label counts range over {span}; "
        f'set corpus_profiles.{corpus}.groups (docs/corpora.md "Label groups")'
    )
