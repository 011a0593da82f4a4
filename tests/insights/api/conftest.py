from __future__ import annotations

# The same API clients as the customers API tests: a staff integrator (`api`) and an
# account manager (`manager_api`), each sending a fresh knox token.
from tests.customers.api.conftest import api, client_for, manager, manager_api, staff  # noqa: F401
