"""Nodes compute and return, and stay small (issue 22): no node of any registered pipeline
reads more than 8 inputs, and none has more than 30 lines of body (the statements after its
signature and docstring; docs/development.md "Pipelines")."""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap

import pytest

MAX_INPUTS = 8
MAX_BODY_LINES = 30


def body_lines(function) -> int:
    """Source lines from the first statement after the docstring to the last one."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    statements = tree.body[0].body
    first = statements[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        statements = statements[1:]
    return statements[-1].end_lineno - statements[0].lineno + 1 if statements else 0


def _function(node):
    function = node.func
    while isinstance(function, functools.partial):
        function = function.func
    return inspect.unwrap(function)


@pytest.fixture(scope="module")
def registry(project_root):
    from kedro.framework.startup import bootstrap_project

    from longtail_mltc.pipeline_registry import register_pipelines

    bootstrap_project(project_root)
    return register_pipelines()


def test_no_node_reads_more_than_eight_inputs(registry):
    wide = {
        f"{node.name} ({len(node.inputs)})"
        for pipeline in registry.values()
        for node in pipeline.nodes
        if len(node.inputs) > MAX_INPUTS
    }
    assert wide == set()


def test_no_node_function_is_longer_than_thirty_lines(registry):
    functions = {_function(node) for pipeline in registry.values() for node in pipeline.nodes}
    long = {
        f"{f.__module__}.{f.__name__} ({body_lines(f)})"
        for f in functions
        if body_lines(f) > MAX_BODY_LINES
    }
    assert long == set()


def _sample(a, b):
    """Doc."""
    x = a + b
    return x


def _branches(a):
    if a:
        return 1
    return 0


def test_body_lines_count_statements_after_the_docstring():
    assert body_lines(_sample) == 2
    assert body_lines(_branches) == 3
