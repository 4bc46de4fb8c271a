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
from ..single.nodes import select_loss
from .merge_nodes import (
    analyse_merge,
    build_hscnn_predictor,
    build_hybrid_evaluation,
    evaluate_merge,
    evaluate_single_variant,
    merge_calibrated_rule,
    merge_paper_rule,
    plan_calibrated_run,
    plan_single_variant_run,
    record_merge,
    record_metrics,
)
from .nodes import (
    CALIBRATED_SUFFIX,
    configure_hscnn_variant,
    plan_hscnn_variant,
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

_DATA = ("corpus_split", "label_index", "label_statistics")


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


def single_variant_pipeline(out: str = "hscnn") -> Pipeline:
    """The Single variant (§1.9): the single network ``single_*`` under the §1.10 groups, its
    own run (opened by ``<out>_run``, recorded by ``<out>_run_record``), as ``<out>_metrics``."""
    plan_inputs = ["single_training_summary", "single_loss", "params:single", SETTINGS]
    return Pipeline(
        [
            Node(
                plan_single_variant_run,
                [*plan_inputs, "params:corpus", "params:seed"],
                f"{out}_run",
                name="plan_single_variant",
            ),
            Node(
                evaluate_single_variant,
                ["single_scores", *_DATA, SETTINGS, "single_loss"],
                f"{out}_metrics",
                name="evaluate_single_variant",
            ),
            Node(
                record_metrics,
                [f"{out}_metrics", f"{out}_run"],
                f"{out}_run_record",
                name="record_single_variant",
            ),
        ]
    )


def _training_nodes(examples: str, settings: str) -> list[Node]:
    """Configure → plan (the run) → train → predict ``params:variant`` on the single network
    ``single_*`` with its loss ``single_loss``."""
    configure = [settings, "params:variant", "params:seed", "single_loss", "label_statistics"]
    plan = ["hscnn_config", examples, "params:single", "params:corpus", "params:checkpoints"]
    single_network = ["single_model_state", "single_scores", "corpus_split", "encoded_documents"]
    return [
        Node(configure_hscnn_variant, configure, "hscnn_config", name="configure_hscnn"),
        Node(plan_hscnn_variant, plan, ["hscnn_plan", "hscnn_run"], name="plan_hscnn"),
        Node(
            train_hscnn_variant,
            [examples, *single_network, "label_index", "hscnn_plan", "hscnn_run"],
            ["hscnn_model_state", "hscnn_training_summary"],
            name="train_hscnn",
        ),
        Node(
            predict_hscnn_variant,
            ["hscnn_model_state", *single_network[1:], "label_index", "hscnn_plan"],
            "hscnn_predictions",
            name="predict_hscnn",
        ),
    ]


def _merge_nodes(out: str, step: str) -> list[Node]:
    """Evaluate the merge ``<out>_merge``, build its predictor and test files, and record them
    into the run ``<out>_run`` (``<out>_metrics``, ``<out>_run_record``)."""
    trained = ["hscnn_model_state", "single_model_state", "hscnn_predictions", "label_index"]
    return [
        Node(
            evaluate_merge,
            [f"{out}_merge", "hscnn_training_summary"],
            f"{out}_metrics",
            name=f"evaluate_{step}",
        ),
        Node(
            build_hscnn_predictor,
            [f"{out}_merge", *trained, "hscnn_plan", "vocabulary", "params:features"],
            f"{out}_predictor",
            name=f"build_{step}_predictor",
        ),
        Node(
            analyse_merge,
            [f"{out}_merge", "corpus_split", "label_index"],
            f"{out}_test_files",
            name=f"analyse_{step}",
        ),
        Node(
            record_merge,
            [f"{out}_metrics", f"{out}_merge", "hscnn_model_state", f"{out}_predictor"]
            + [f"{out}_test_files", "label_index", f"{out}_run"],
            f"{out}_run_record",
            name=f"record_{step}",
        ),
    ]


def variant_pipeline(
    examples: str = "hscnn_triplets", calibrated: bool = True, settings: str = SETTINGS
) -> Pipeline:
    """Train → predict → merge → evaluate → record ``params:variant`` on the single network
    ``single_*``; ``calibrated``: the calibrated merge too (§1.8, its own run and metrics).

    ``examples``: the sampled dataset it trains on (``hscnn_pairs`` for /CSS and Naive);
    ``settings``: where the HSCNN settings come from. Each run is opened by its ``*_run``
    dataset and ended by its ``*_run_record`` dataset (docs/tracking.md).
    """
    scored = ["hscnn_predictions", "single_scores", "hybrid_evaluation", "hscnn_plan"]
    nodes = _training_nodes(examples, settings)
    nodes += [
        Node(
            build_hybrid_evaluation,
            [*_DATA, "hscnn_plan"],
            "hybrid_evaluation",
            name="build_hybrid_evaluation",
        ),
        Node(merge_paper_rule, scored, "hscnn_merge", name="merge_hscnn"),
    ]
    nodes += _merge_nodes("hscnn", "hscnn")
    if calibrated:
        out = f"hscnn{CALIBRATED_SUFFIX}"
        run_inputs = [f"{out}_merge", "hscnn_training_summary", "hscnn_plan", "params:corpus"]
        nodes += [
            Node(merge_calibrated_rule, scored, f"{out}_merge", name="calibrate_hscnn"),
            Node(plan_calibrated_run, run_inputs, f"{out}_run", name="plan_calibrated_hscnn"),
            *_merge_nodes(out, "calibrated_hscnn"),
        ]
    return Pipeline(nodes)


def hscnn_nodes() -> Pipeline:
    """The HSCNN part of the headline chain (after ``single``): the single network, the
    paper's merge and the calibrated merge of ``params:variant``, each evaluated under the same
    §1.10 groups."""
    single_variant = single_variant_pipeline("hscnn_single")
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
    loss = Node(
        select_loss,
        ["params:loss", "params:loss_params", "params:loss_recipes"],
        "single_loss",
        name="select_loss",
    )  # the main chain's single network is read from data/, its loss chosen again
    sweep = Pipeline([settings, loss, *(_triplet_point(p) for p in TRIPLET_POINTS), table])
    return namespaced(sweep, TRIPLETS_NAMESPACE, connect={name: name for name in table.outputs})
