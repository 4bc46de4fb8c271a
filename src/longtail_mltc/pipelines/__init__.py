"""Kedro glue: each sub-package registers one pipeline; nodes call the library layers."""
