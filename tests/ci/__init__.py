"""Heavier checks that only CI runs (`make ci-extra`); the default `pytest` run leaves this folder out."""
