"""kedro-viz: `kedro viz build`, served over HTTP on 127.0.0.1, checked in headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
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


@pytest.fixture(scope="module")
def served_viz(tmp_path_factory):
    """Build the site once and serve it; stop the server (by PID) afterwards."""
    project = copy_project(tmp_path_factory.mktemp("viz") / "project")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    kedro = Path(sys.executable).with_name("kedro")
    subprocess.run(
        [str(kedro), "viz", "build"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
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


def test_viz_renders_pipeline_nodes_and_shows_inputs_on_click(served_viz):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: run `bash scripts/setup.sh --test`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
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
        finally:
            browser.close()
