"""The corpus is built once per session: every test reads the same records."""

import pytest

from tests.quality.corpus import SEED, build_corpus


@pytest.fixture(scope="session")
def corpus():
    return build_corpus(SEED)
