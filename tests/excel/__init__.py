"""Opt-in Excel acceptance suite (see conftest.py)."""
