"""Argument types of the benchmark CLIs: integers with their valid range, refused in one argparse line."""

from __future__ import annotations

import argparse


def int_at_least(minimum: int):
    """An argparse `type` accepting integers >= `minimum`: `--steps 0` ends in `argument --steps: must be ...`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value

    return parse
