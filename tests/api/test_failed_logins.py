"""Guessing passwords is throttled per address before any hashing (issue 25, item 3).

Each failed HTTP Basic login costs a deliberately slow password hash; a handful
of clients guessing kept every web worker hashing and timed out every pixel.
"""

import base64

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def dialer_user(settings):
    settings.API_AUTH_FAILURE_RATE = "5/min"
    user = get_user_model().objects.create_user("dialer", password="right-password")
    user.user_permissions.add(Permission.objects.get(codename="use_calls_api"))
    return user


def _basic(password: str, address: str = "203.0.113.9"):
    client = APIClient(REMOTE_ADDR=address)
    token = base64.b64encode(f"dialer:{password}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client.get("/api/v1/calls/no-such-call")


@pytest.fixture
def hashes(monkeypatch):
    """How many passwords were checked (each a slow hash in production)."""
    from django.contrib.auth.hashers import MD5PasswordHasher

    checked = []
    real = MD5PasswordHasher.verify

    def verify(self, password, encoded):
        checked.append(password)
        return real(self, password, encoded)

    monkeypatch.setattr(MD5PasswordHasher, "verify", verify)
    return checked


def test_guessing_past_the_rate_is_answered_429_without_hashing(dialer_user, hashes):
    statuses = [_basic(f"guess-{n}").status_code for n in range(8)]

    assert statuses == [401] * 5 + [429] * 3
    assert len(hashes) == 5
    refused = _basic("guess-9")
    assert "Retry-After" in refused and "too many requests" in refused.json()["errors"][0]


def test_another_address_and_the_right_password_are_not_held_back(dialer_user, hashes):
    for n in range(6):
        _basic(f"guess-{n}")
    assert _basic("right-password", address="198.51.100.7").status_code == 404  # logged in


def test_a_correct_login_never_counts_as_a_failure(dialer_user):
    assert [_basic("right-password").status_code for _ in range(8)] == [404] * 8
