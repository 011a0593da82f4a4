from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AbstractBaseUser
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import ApiStaffFactory, ApiUserFactory


@pytest.fixture
def client_for() -> Callable[[AbstractBaseUser], APIClient]:
    """An API client sending a fresh token of `user`, as an integration would."""

    def make(user: AbstractBaseUser) -> APIClient:
        _, token = AuthToken.objects.create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


@pytest.fixture
def staff(db) -> AbstractBaseUser:
    return ApiStaffFactory(username="integrator")


@pytest.fixture
def manager(db) -> AbstractBaseUser:
    return ApiUserFactory(username="ana")


@pytest.fixture
def api(client_for, staff) -> APIClient:
    return client_for(staff)


@pytest.fixture
def manager_api(client_for, manager) -> APIClient:
    return client_for(manager)
