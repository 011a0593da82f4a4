import pytest


@pytest.fixture
def fresh_rate_limit():
    """The test starts with its client address's public-page count at zero (the public
    pages count requests per address in the shared cache)."""
    from tests.support.services import clear_cache

    clear_cache()
