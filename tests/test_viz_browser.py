"""kedro-viz: `kedro viz build`, served over HTTP on 127.0.0.1, checked in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from kedro_project import copy_project

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Node names of the main job, as kedro-viz 12.5 renders them on the flowchart.
EXPECTED_NODES = ("load_raw_corpus", "train_word_vectors", "train_single_network")
CLICKED_NODE_INPUTS = ("corpus_split", "encoded_documents", "word_vectors", "label_index")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kedro(project: Path, env: dict[str, str], *args: str) -> None:
    kedro = Path(sys.executable).with_name("kedro")
    out = subprocess.run(
        [str(kedro), *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.fixture(scope="module")
def served_viz(tmp_path_factory, reuters_mirror):
    """Run the HSCNN chain, the N_φ sweep, the balanced-loss study on the Kim CNN backbone
    (ci sizes) and the reporting pipeline over those runs; build the site with dataset previews
    once and serve it; stop the server (by PID) afterwards."""
    project = copy_project(tmp_path_factory.mktemp("viz") / "project")
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "LONGTAIL_MLTC_MIRROR": str(reuters_mirror.parent),
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
    }
    _kedro(project, env, "run", "--pipeline=hscnn", "--env=ci")
    _kedro(project, env, "run", "--pipeline=hscnn_n_phi", "--env=ci")
    _kedro(
        project, env, "run", "--pipeline=balanced_losses", "--env=ci", "--params=backbone=kim_cnn"
    )
    # `kedro viz build` takes no --params and reads conf/local: the backbone as a global there
    # makes it resolve the study's kim_cnn paths for the previews
    (project / "conf" / "local" / "globals.yml").write_text("backbone: kim_cnn\n")
    _kedro(project, env, "run", "--pipeline=reporting", "--env=ci")
    _kedro(project, env, "viz", "build", "--include-previews")
    assert (project / "build" / "index.html").is_file()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=project / "build",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def _browser_page():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: run `bash scripts/setup.sh --test`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1600, "height": 1000})
        finally:
            browser.close()


def _open_node(page, name: str):
    """Click the flowchart node called ``name``; return the metadata panel."""
    node = page.locator(".pipeline-node", has_text=name).first
    node.wait_for(timeout=30_000)
    # dispatched to the node itself: kedro-viz's feature-hints card can cover nodes of a
    # large (expanded) flowchart and would take a pointer click
    node.dispatch_event("click")
    panel = page.locator(".pipeline-metadata")
    panel.get_by_text(name).first.wait_for(timeout=10_000)
    return panel


def test_viz_renders_pipeline_nodes_and_shows_inputs_on_click(served_viz):
    with _browser_page() as page:
        page.goto(served_viz, wait_until="networkidle")
        for name in EXPECTED_NODES:
            page.locator(".pipeline-node", has_text=name).first.wait_for(timeout=30_000)

        page.locator(".pipeline-node", has_text="train_single_network").first.click()
        panel = page.locator(".pipeline-metadata")
        panel.get_by_text("Inputs:").wait_for(timeout=10_000)
        text = panel.inner_text()
        assert "train_single_network" in text
        # The clicked node's inputs, listed between "Inputs:" and "Outputs:" in the panel.
        inputs = text.split("Inputs:", 1)[1].split("Outputs:", 1)[0]
        for dataset in CLICKED_NODE_INPUTS:
            assert dataset in inputs, f"{dataset!r} missing from the inputs:\n{text}"
        assert "single_model_state" not in inputs  # an output, not an input


def test_viz_previews_the_triplets_table_and_the_n_phi_plot(served_viz):
    """The sampled triplets are a dataset of the main flowchart with a table preview; the N_φ
    sweep's figure is previewed as an image in its pipeline's view."""
    with _browser_page() as page:
        page.goto(served_viz, wait_until="networkidle")
        panel = _open_node(page, "hscnn_triplets")
        panel.locator("table").first.wait_for(timeout=10_000)
        header = panel.locator("table").first.inner_text()
        for column in ("first", "second", "label", "target"):
            assert column in header

        page.goto(f"{served_viz}?pid=hscnn_n_phi", wait_until="networkidle")
        panel = _open_node(page, "hscnn_n_phi_plot")
        image = panel.locator("img").first
        image.wait_for(timeout=10_000)
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 300


def test_viz_previews_the_balanced_loss_table_and_its_bar_chart(served_viz):
    """The study's loss table is previewed as a table (one row per loss) and its bar chart per
    group as an image, in the balanced_losses pipeline's view."""
    with _browser_page() as page:
        # the study lives in the namespace balanced_losses, collapsed by default; opening it
        # shows its tables with the nine loss namespaces still collapsed (expanding all of
        # them, 221 elements, makes kedro-viz ask before it renders)
        page.goto(f"{served_viz}?pid=balanced_losses", wait_until="networkidle")
        _expand(page, "balanced_losses")
        _named(page, "modularPipeline", "balanced_losses.bce").first.wait_for(timeout=10_000)
        panel = _open_node(page, "loss_table")
        table = panel.locator("table").first
        table.wait_for(timeout=10_000)
        text = table.inner_text()
        # the panel previews the first rows: the group sizes, then bce, wce, ...
        for expected in ("all/micro_f1", "tail/macro_f1", "labels_2plus/micro_f1", "bce"):
            assert expected in text

        panel = _open_node(page, "loss_plot")
        image = panel.locator("img").first
        image.wait_for(timeout=10_000)
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 300


def test_viz_previews_the_reporting_table_and_the_per_label_plot(served_viz):
    """The reporting pipeline's comparison table (rows = tracked configurations) and its
    per-label F1 figure are previewed in the reporting pipeline's view."""
    with _browser_page() as page:
        # the reporting nodes share the namespace reporting, collapsed by default
        page.goto(f"{served_viz}?pid=reporting&expandAllPipelines=true", wait_until="networkidle")
        panel = _open_node(page, "comparison_table")
        table = panel.locator("table").first
        table.wait_for(timeout=10_000)
        text = table.inner_text()
        for expected in ("reuters/single/single/bce", "reuters/hscnn/hscnn/bce", "best_in"):
            assert expected in text

        panel = _open_node(page, "per_label_plot")
        image = panel.locator("img").first
        image.wait_for(timeout=10_000)
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 300


def _named(page, kind: str, name: str):
    """The flowchart nodes of ``kind`` (kedro-viz 12.5's ``pipeline-node--<kind>`` class:
    task, data, modularPipeline) labelled exactly ``name``."""
    exact = re.compile(rf"^\s*{re.escape(name)}\s*$")
    return page.locator(f".pipeline-node--{kind}").filter(has_text=exact)


def _expand(page, name: str) -> None:
    """Click the collapsed namespace ``name`` (kedro-viz expands it in place)."""
    namespace = _named(page, "modularPipeline", name).first
    namespace.wait_for(timeout=30_000)
    namespace.dispatch_event("click")  # see _open_node: hints may cover the node


def test_viz_shows_the_namespaced_studies_collapsed_and_expands_them_on_click(served_viz):
    """hscnn_triplets and hscnn_variants are Kedro namespaces (issue 22): their flowcharts need
    no data, show one node per namespace, and a click opens it down to the HSCNN's nodes."""
    with _browser_page() as page:
        page.goto(f"{served_viz}?pid=hscnn_triplets", wait_until="networkidle")
        _named(page, "data", "hscnn_triplets_table").first.wait_for(timeout=30_000)
        assert _named(page, "modularPipeline", "hscnn_triplets").count() == 1
        assert page.locator(".pipeline-node--task").count() == 0  # all inside the namespace

        _expand(page, "hscnn_triplets")
        for point in ("low", "mid", "high"):
            _named(page, "modularPipeline", f"hscnn_triplets.{point}").first.wait_for(
                timeout=10_000
            )
        _named(page, "task", "sweep_triplet_counts").first.wait_for(timeout=10_000)
        assert _named(page, "task", "train_hscnn").count() == 0  # the points still collapsed

        _expand(page, "hscnn_triplets.mid")
        for step in ("sample_triplets", "train_hscnn", "predict_hscnn", "evaluate_hscnn"):
            _named(page, "task", step).first.wait_for(timeout=10_000)
        assert _named(page, "modularPipeline", "hscnn_triplets.low").count() == 1

        page.goto(f"{served_viz}?pid=hscnn_variants", wait_until="networkidle")
        _named(page, "task", "sample_pairs").first.wait_for(timeout=30_000)  # shared samples
        assert _named(page, "modularPipeline", "hscnn_variants").count() == 1
        assert _named(page, "task", "train_single_network").count() == 0
        _expand(page, "hscnn_variants")
        for loss in ("bce", "wce", "focal"):
            _named(page, "modularPipeline", f"hscnn_variants.{loss}").first.wait_for(timeout=10_000)
        _named(page, "task", "compare_variants").first.wait_for(timeout=10_000)
