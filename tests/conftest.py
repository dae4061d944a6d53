"""Shared test settings: no test may reach a real model or the network."""

from collections.abc import Iterator

import pytest

from agent.testing import block_real_models


@pytest.fixture(autouse=True)
def _no_real_models() -> Iterator[None]:
    with block_real_models():
        yield
