"""Evaluation: one metrics implementation (METHODS §4), threshold search, grouped reports."""
