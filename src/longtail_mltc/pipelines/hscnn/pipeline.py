"""HSCNN pipelines (METHODS §1): the headline chain, the variant × loss table and two sweeps.

* ``hscnn`` (also ``__default__``): ingestion → features → label_stats → single → triplets →
  HSCNN → hybrid merge → evaluation, the one training pipeline that runs ingestion itself (the
  README's quick start on a fresh clone). MLflow runs: ``<corpus>/single/single/<loss>`` (the
  single network's own run, §3.1 groups), and, tagged ``pipeline=hscnn`` and evaluated under the
  same §1.10 groups, ``<corpus>/hscnn/single/<loss>`` (the single network),
  ``<corpus>/hscnn/<variant>/<loss>`` (the paper's merge; ``variant`` is ``hscnn``) and
  ``<corpus>/hscnn/<variant>_calibrated/<loss>`` (the merge calibrated on validation, §1.8).
* ``hscnn_variants``: for each loss of :data:`VARIANT_LOSSES`, a single network (namespace
  ``hscnn_variants.<loss>``) and the five §1.9 variants on top of it
  (``hscnn_variants.<loss>.<variant>``), each Siamese variant also calibrated
  (``<variant>_calibrated``), then ``hscnn_variants.variant_table``.
* ``hscnn_n_phi``: merges the trained HSCNN at each N_φ of ``hscnn_sweeps.n_phi`` (no training).
* ``hscnn_triplets``: one HSCNN per point of :data:`~.sweeps.TRIPLET_POINTS` (namespace
  ``hscnn_triplets.<point>``), trained on ``hscnn_sweeps.triplet_counts.<point>`` triplets.

Every study is built from the base pipelines below (one variant: sample → train → predict →
evaluate) wrapped in Kedro namespaces (:func:`namespaced`). Inside a namespace the parameters
``loss`` and ``variant`` are the namespace's own (``params:hscnn_variants.bce.naive.variant``,
conf/base/parameters_hscnn.yml); every other parameter and every input dataset is shared.

The three study pipelines start from ``data/`` (no ingestion): they read the features and label
statistics of the chosen corpus, and the sweeps the main pipeline's single network / HSCNN: run
``hscnn`` first (``hooks.RequireInputFiles`` stops them with that command otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kedro.pipeline import Node, Pipeline

from longtail_mltc.training.variants import get_variant

from ..features import create_pipeline as features
from ..ingestion import create_pipeline as ingestion
from ..label_stats import create_pipeline as label_stats
from ..single import create_pipeline as single
from .nodes import (
    evaluate_calibrated_variant,
    evaluate_hscnn_variant,
    evaluate_single_variant,
    predict_hscnn_variant,
    sample_training_pairs,
    sample_training_triplets,
    train_hscnn_variant,
)
from .sweeps import (
    TRIPLET_POINTS,
    compare_variants,
    concat_rows,
    single_variant_rows,
    sweep_n_phi,
    sweep_triplet_counts,
    triplet_sweep_settings,
    variant_rows,
)

VARIANT_LOSSES: tuple[str, ...] = ("bce", "wce", "focal")  # METHODS §1.9
VARIANTS: tuple[str, ...] = ("single", "naive", "no_css", "no_mt", "hscnn")
VARIANTS_NAMESPACE = "hscnn_variants"
TRIPLETS_NAMESPACE = "hscnn_triplets"
SETTINGS = "params:hscnn"  # the HSCNN settings (a sweep point reads its own dataset instead)

_DATA = {
    "corpus_split": "corpus_split",
    "label_index": "label_index",
    "label_statistics": "label_statistics",
}
_PARAMS = {"single": "params:single", "corpus": "params:corpus", "seed": "params:seed"}


def namespaced(
    pipe: Pipeline,
    namespace: str,
    own: Iterable[str] = (),
    connect: Mapping[str, str] | None = None,
) -> Pipeline:
    """``pipe`` in the Kedro namespace ``namespace``: its nodes and outputs are prefixed; its
    free inputs and parameters are shared, except the parameters named in ``own`` and those
    already namespaced inside it (a dotted name such as ``params:naive.variant``).

    ``connect``: inputs and outputs renamed to these names, as namespaced pipelines are wired.
    """
    connect = dict(connect or {})
    free = pipe.inputs()
    parameters = {name for name in free if name.startswith("params:")}
    return Pipeline(
        pipe,
        namespace=namespace,
        inputs={name: connect.get(name, name) for name in free - parameters},
        outputs={name: new for name, new in connect.items() if name not in free} or None,
        parameters={
            name
            for name in parameters
            if "." not in name and name.removeprefix("params:") not in set(own)
        },
    )


def sampling_pipeline(with_pairs: bool, settings: str = SETTINGS) -> Pipeline:
    """Seeded training triplets (and pairs for /CSS and Naive) of ``settings.n_triplets``."""
    inputs = ["corpus_split", "encoded_documents", "label_index", settings, "params:seed"]
    nodes = [Node(sample_training_triplets, inputs, "hscnn_triplets", name="sample_triplets")]
    if with_pairs:
        nodes.append(Node(sample_training_pairs, inputs, "hscnn_pairs", name="sample_pairs"))
    return Pipeline(nodes)


def single_variant_pipeline() -> Pipeline:
    """The Single variant (§1.9): the single network ``single_*`` under the §1.10 groups, its
    own run, as ``hscnn_metrics``."""
    inputs = {
        **_own("single_scores", "single_training_summary"),
        **_DATA,
        **_PARAMS,
        "hscnn": SETTINGS,
        "loss": "params:loss",
    }
    node = Node(evaluate_single_variant, inputs, "hscnn_metrics", name="evaluate_single_variant")
    return Pipeline([node])


def _own(*names: str) -> dict[str, str]:
    """Inputs read from the datasets of the same name."""
    return {name: name for name in names}


def _training_node(examples: str, settings: str) -> Node:
    return Node(
        train_hscnn_variant,
        inputs={
            "examples": examples,
            **_own("single_model_state", "single_scores", "encoded_documents"),
            **_DATA,
            **_PARAMS,
            "hscnn": settings,
            "loss_params": "params:loss_params",
            "variant": "params:variant",
            "loss": "params:loss",
            "checkpoints": "params:checkpoints",
        },
        outputs=["hscnn_model_state", "hscnn_training_summary"],
        name="train_hscnn",
    )


def _prediction_node(settings: str) -> Node:
    return Node(
        predict_hscnn_variant,
        inputs={
            **_own("hscnn_model_state", "single_scores", "encoded_documents"),
            **_DATA,
            "single": "params:single",
            "hscnn": settings,
            "seed": "params:seed",
            "variant": "params:variant",
        },
        outputs="hscnn_predictions",
        name="predict_hscnn",
    )


def variant_pipeline(
    examples: str = "hscnn_triplets", calibrated: bool = True, settings: str = SETTINGS
) -> Pipeline:
    """Train → predict → evaluate ``params:variant`` with ``params:loss`` on the single network
    ``single_*``; ``calibrated``: the calibrated merge too (§1.8, its own run and metrics).

    ``examples``: the sampled dataset it trains on (``hscnn_pairs`` for /CSS and Naive);
    ``settings``: where the HSCNN settings come from.
    """
    trained = {
        **_own("hscnn_predictions", "hscnn_model_state", "hscnn_training_summary"),
        **_own("single_scores", "single_model_state", "vocabulary"),
        **_DATA,
        "single": "params:single",
        "hscnn": settings,
        "features": "params:features",
    }
    nodes = [
        _training_node(examples, settings),
        _prediction_node(settings),
        Node(evaluate_hscnn_variant, trained, "hscnn_metrics", name="evaluate_hscnn"),
    ]
    if calibrated:
        calibrated_inputs = {**trained, "corpus": "params:corpus", "seed": "params:seed"}
        nodes.append(
            Node(
                evaluate_calibrated_variant,
                calibrated_inputs,
                "hscnn_calibrated_metrics",
                name="evaluate_calibrated_hscnn",
            )
        )
    return Pipeline(nodes)


def hscnn_nodes() -> Pipeline:
    """The HSCNN part of the headline chain (after ``single``): the single network, the
    paper's merge and the calibrated merge of ``params:variant``, each evaluated under the same
    §1.10 groups."""
    single_variant = Pipeline(
        single_variant_pipeline(), outputs={"hscnn_metrics": "hscnn_single_metrics"}
    )
    return sampling_pipeline(with_pairs=False) + single_variant + variant_pipeline()


def create_pipeline(**kwargs) -> Pipeline:
    return ingestion() + features() + label_stats() + single() + hscnn_nodes()


def _variant_in_study(variant: str) -> Pipeline:
    """One §1.9 variant and its rows of the variant table (``<variant>_rows``), in the
    namespace ``<variant>``."""
    if variant == "single":
        base = single_variant_pipeline()
        rows = Node(single_variant_rows, ["params:loss", "hscnn_metrics"], "rows", name="rows")
    else:
        base = variant_pipeline(
            "hscnn_triplets" if get_variant(variant).triplets else "hscnn_pairs"
        )
        trained = ["hscnn_training_summary", "hscnn_metrics", "hscnn_calibrated_metrics"]
        rows = Node(variant_rows, trained, "rows", name="rows")
    own = {"variant"}
    return namespaced(base + Pipeline([rows]), variant, own, connect={"rows": f"{variant}_rows"})


def _loss_in_study(loss: str) -> Pipeline:
    """The single network trained with ``params:loss`` and the five variants on top of it,
    with the rows of the variant table (``<loss>_rows``), in the namespace ``<loss>``."""
    variants = [_variant_in_study(variant) for variant in VARIANTS]
    rows = Node(concat_rows, [f"{variant}_rows" for variant in VARIANTS], "rows", name="rows")
    pipe = Pipeline([single(), *variants, rows])
    return namespaced(pipe, loss, own={"loss"}, connect={"rows": f"{loss}_rows"})


def create_variants_pipeline() -> Pipeline:
    """``hscnn_variants``: :data:`VARIANT_LOSSES` × :data:`VARIANTS` on shared samples."""
    losses = [_loss_in_study(loss) for loss in VARIANT_LOSSES]
    table = Node(
        compare_variants,
        [f"{loss}_rows" for loss in VARIANT_LOSSES],
        "variant_table",
        name="compare_variants",
    )
    study = namespaced(Pipeline([*losses, table]), VARIANTS_NAMESPACE)
    return sampling_pipeline(with_pairs=True) + study


def create_n_phi_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                sweep_n_phi,
                inputs=[
                    "hscnn_predictions",
                    "single_scores",
                    "corpus_split",
                    "label_index",
                    "label_statistics",
                    "params:hscnn",
                    "params:hscnn_sweeps.n_phi",
                    "params:corpus",  # in the figure's title, and a param of the tracked run
                ],
                outputs=["hscnn_n_phi_table", "hscnn_n_phi_plot"],
                name="sweep_n_phi",
            )
        ]
    )


def _triplet_point(point: str) -> Pipeline:
    """One point of the triplet sweep, in the namespace ``<point>``: the headline HSCNN
    (``params:variant``, no calibrated merge) trained on the settings ``<point>_settings`` (the
    shared ones at the point's count); its run is ``<point>_summary`` / ``<point>_metrics``."""
    settings = "hscnn_settings"
    pipe = sampling_pipeline(False, settings) + variant_pipeline(
        calibrated=False, settings=settings
    )
    connect = {
        settings: f"{point}_settings",
        "hscnn_training_summary": f"{point}_summary",
        "hscnn_metrics": f"{point}_metrics",
    }
    return namespaced(pipe, point, connect=connect)


def create_triplets_pipeline() -> Pipeline:
    """``hscnn_triplets``: one namespaced HSCNN per point of :data:`TRIPLET_POINTS`, then the
    table and plot (``hscnn_triplets_table`` / ``_plot``)."""
    settings = Node(
        triplet_sweep_settings,
        ["params:hscnn", "params:hscnn_sweeps"],
        {point: f"{point}_settings" for point in TRIPLET_POINTS},
        name="point_settings",
    )
    runs = [f"{point}_{run}" for point in TRIPLET_POINTS for run in ("summary", "metrics")]
    table = Node(
        sweep_triplet_counts,
        ["single_metrics", "params:hscnn_sweeps", *runs],
        ["hscnn_triplets_table", "hscnn_triplets_plot"],
        name="sweep_triplet_counts",
    )
    sweep = Pipeline([settings, *(_triplet_point(p) for p in TRIPLET_POINTS), table])
    return namespaced(sweep, TRIPLETS_NAMESPACE, connect={name: name for name in table.outputs})
