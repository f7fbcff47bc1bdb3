"""Fixtures every test package can use."""

import pytest

from tests.training import toy_gan
from training import registry


@pytest.fixture
def registered_toy(monkeypatch):
    """The toy GAN registered beside the installed models, for this test only."""
    registry.discover()  # first, so the restored registry has discovered them too
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    registry.register(toy_gan.MODEL)
    return toy_gan.MODEL
