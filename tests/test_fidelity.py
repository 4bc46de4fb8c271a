"""The fidelity report: published claims beside tracked figures (evaluation/fidelity.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from longtail_mltc.evaluation.fidelity import Claim, fidelity_table, to_markdown_table


def _run(name, corpus, variant, loss, seed, start, **metrics):
    row = {
        "tags.mlflow.runName": name,
        "tags.corpus": corpus,
        "tags.pipeline": "hscnn",
        "tags.variant": variant,
        "tags.loss": loss,
        "tags.seed": str(seed),
        "start_time": pd.Timestamp(start, tz="UTC"),
        "params.hscnn.n_triplets": "6000",
    }
    row.update({f"metrics.{k}": v for k, v in metrics.items()})
    return row


RUNS = pd.DataFrame(
    [
        _run("r/hscnn/hscnn/bce", "reuters", "hscnn", "bce", 1, "2026-12-01", m=0.30),
        _run("r/hscnn/hscnn/bce", "reuters", "hscnn", "bce", 2, "2026-12-01", m=0.36),
        _run("r/hscnn/hscnn/bce", "reuters", "hscnn", "bce", 3, "2026-12-01", m=0.33),
        # an older run of seed 3: the newest per seed counts, so 0.90 is ignored
        _run("r/hscnn/hscnn/bce", "reuters", "hscnn", "bce", 3, "2026-11-01", m=0.90),
        _run("r/hscnn/single/bce", "reuters", "single", "bce", 1, "2026-12-02", m=0.40),
        _run("d/hscnn/single/bce", "delicious", "single", "bce", 1, "2026-12-02", m=0.10),
    ]
)
CLAIM = {
    "claim": "HSCNN beats its single network on tail labels",
    "metric": "m",
    "ours": {"corpus": "reuters", "pipeline": "hscnn", "variant": "hscnn", "loss": "bce"},
    "versus": {"variant": "single"},
    "budget": ["hscnn.n_triplets"],
}


def test_a_claim_compares_the_seed_means_and_says_it_does_not_hold():
    table = fidelity_table([Claim.from_dict(CLAIM)], RUNS)
    row = table.iloc[0]
    # seeds 1, 2, 3 → 0.30, 0.36, 0.33: mean 0.33, sample std 0.03 (by hand)
    assert row["ours"] == "0.3300 ± 0.0300 (n=3)"
    assert row["compared_with"] == "0.4000"
    assert row["difference"] == "-0.0700"
    assert row["verdict"] == "does not hold"
    assert row["seeds"] == "1,2,3" and row["budget"] == "n_triplets=6000"
    assert row["measured"] == "2026-12-02" and row["corpus"] == "reuters"
    assert row["runs"] == "r/hscnn/hscnn/bce; r/hscnn/single/bce"


def test_published_figures_use_the_tolerance_and_missing_runs_are_not_measured():
    published = {**CLAIM, "versus": None, "published": 0.34, "tolerance": 0.02}
    close = fidelity_table([Claim.from_dict(published)], RUNS).iloc[0]
    assert close["verdict"] == "holds" and close["published"] == "0.3400"
    far = fidelity_table([Claim.from_dict({**published, "tolerance": 0.005})], RUNS).iloc[0]
    assert far["verdict"] == "does not hold"
    missing = {**CLAIM, "ours": {**CLAIM["ours"], "corpus": "rcv1"}, "run": "kedro run ..."}
    row = fidelity_table([Claim.from_dict(missing)], RUNS).iloc[0]
    assert row["verdict"] == "not measured" and row["runs"] == "kedro run ..."
    assert row["ours"] == "-" and row["difference"] == "-"


def test_a_winning_claim_holds_and_markdown_escapes_pipes():
    flipped = {
        **CLAIM,
        "ours": {**CLAIM["ours"], "variant": "single"},
        "versus": {"variant": "hscnn"},
    }
    row = fidelity_table([Claim.from_dict(flipped)], RUNS).iloc[0]
    assert row["verdict"] == "holds" and row["difference"] == "+0.0700"
    text = to_markdown_table(pd.DataFrame([{"a": "x|y", "b": 1}]))
    assert text.splitlines()[2] == "| x\\|y | 1 |"


def test_claims_are_validated():
    with pytest.raises(ValueError, match="either versus or published"):
        Claim.from_dict({**CLAIM, "published": 0.5})
    with pytest.raises(ValueError, match="unknown key"):
        Claim.from_dict({**CLAIM, "metrics": "x"})
    with pytest.raises(ValueError, match="corpus"):
        Claim.from_dict({**CLAIM, "ours": {"pipeline": "hscnn"}})
