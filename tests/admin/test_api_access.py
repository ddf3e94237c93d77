"""API access in one step, keys shown once and stored hashed (issue 14)."""

import hashlib

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.models import ApiClient

pytestmark = pytest.mark.django_db

ADD = "admin:integrations_apiclient_add"


ALL_SCOPES = {"may_use_calls": "on", "may_read_stats": "on", "may_work_schedules": "on"}


def _create(admin_client, name="Acme dialer", **scopes) -> tuple[ApiClient, str]:
    response = admin_client.post(
        reverse(ADD),
        {"name": name, "description": "Acme's outbound dialer", **(scopes or ALL_SCOPES)},
        follow=True,
    )
    # A GET after the POST (issue 34, item 10): a refresh must not create a client again.
    [(shown_at, status)] = response.redirect_chain
    assert status == 302 and "/keys/" in shown_at
    assert "no-store" in response["Cache-Control"]
    [issued] = response.context["issued"]
    return ApiClient.objects.get(name=name), issued.key


def _calls_api(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/calls/no-such-call")


def test_one_form_makes_a_working_client_whose_key_is_stored_hashed(admin_client):
    client, key = _create(admin_client)
    assert client.user.has_perm("integrations.use_calls_api")
    assert not client.user.is_staff and not client.user.has_usable_password()
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {client.key_prefix, client.key_hash, client.description}
    assert _calls_api(key).status_code == 404  # authenticated: the call just isn't there
    assert LogEntry.objects.filter(object_id=str(client.pk)).exists()


def test_the_key_is_never_shown_again(admin_client):
    client, key = _create(admin_client)
    for url in (
        reverse("admin:integrations_apiclient_changelist"),
        reverse("admin:integrations_apiclient_change", args=[client.pk]),
    ):
        page = admin_client.get(url).text
        assert key not in page and client.key_hint in page


def test_rotating_replaces_the_key_and_revoking_refuses_it(admin_client):
    client, old = _create(admin_client)
    changelist = reverse("admin:integrations_apiclient_changelist")
    asked = admin_client.post(
        changelist, {"action": "rotate_keys", "_selected_action": [client.pk]}
    )
    assert "Yes, rotate" in asked.text and _calls_api(old).status_code == 404  # not yet
    response = admin_client.post(
        changelist,
        {"action": "rotate_keys", "_selected_action": [client.pk], "confirm": "yes"},
        follow=True,
    )
    [issued] = response.context["issued"]
    assert _calls_api(old).status_code == 401
    assert _calls_api(issued.key).status_code == 404
    revoking = {"action": "revoke_clients", "_selected_action": [client.pk]}
    admin_client.post(changelist, revoking)
    assert _calls_api(issued.key).status_code == 404  # asked, not done
    admin_client.post(changelist, {**revoking, "confirm": "yes"})
    assert _calls_api(issued.key).status_code == 401


def test_the_clients_own_page_rotates_and_revokes_after_confirming(admin_client):
    client, old = _create(admin_client)
    page = admin_client.get(reverse("admin:integrations_apiclient_change", args=[client.pk])).text
    rotate = reverse("admin:integrations_apiclient_rotate", args=[client.pk])
    revoke = reverse("admin:integrations_apiclient_revoke", args=[client.pk])
    assert rotate in page and revoke in page
    assert "Yes, rotate" in admin_client.get(rotate).text
    [issued] = admin_client.post(rotate, {"confirm": "yes"}, follow=True).context["issued"]
    assert _calls_api(old).status_code == 401 and _calls_api(issued.key).status_code == 404
    admin_client.post(revoke, {"confirm": "yes"})
    assert _calls_api(issued.key).status_code == 401


def test_a_key_may_use_only_its_scopes(admin_client, ringba_setup):
    _, key = _create(admin_client, name="Stats reader", may_read_stats="on")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/stats").status_code == 200
    refused = api.post("/api/v1/calls", {"number": "+18005550100"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["errors"] == [
        "auth: this key may not use calls (its scopes: stats); an administrator can allow it "
        "on the API client's page"
    ]
    assert api.post("/api/v1/schedules/1/claim", {}, format="json").status_code == 403


def test_a_wrong_key_with_a_right_prefix_is_refused(admin_client):
    _, key = _create(admin_client)
    assert _calls_api(key[:8] + "0" * 32).status_code == 401


def test_plain_drf_tokens_are_hashed_by_the_migration(django_user_model):
    from importlib import import_module

    from django.apps import apps
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create(username="legacy-dialer")
    key = Token.objects.create(user=user).key
    import_module("integrations.migrations.0015_plain_tokens_to_api_clients").hash_tokens(
        apps, None
    )
    assert not Token.objects.exists()
    client = ApiClient.objects.get(user=user)
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest()


def test_staff_no_longer_have_a_page_of_plain_keys(admin_client):
    page = admin_client.get(reverse("admin:index")).text
    assert "/admin/authtoken/tokenproxy/" not in page


def test_a_rotation_read_before_a_revocation_never_revives_the_key(admin_client):
    """Two managers: one opens the list, one revokes, the first rotates (issue 25, item 4)."""
    from integrations.services.api_clients import revoke, rotate_key

    client, key = _create(admin_client)
    stale = ApiClient.objects.get(pk=client.pk)  # read before the revocation
    revoke(ApiClient.objects.get(pk=client.pk))

    assert rotate_key(stale) is None  # refused: the client is revoked

    client.refresh_from_db()
    assert client.revoked_at is not None
    assert _calls_api(key).status_code == 401


def test_a_rotation_through_the_admin_after_a_revocation_issues_nothing(admin_client):
    client, _ = _create(admin_client)
    ApiClient.objects.filter(pk=client.pk).update(revoked_at="2026-12-01T00:00Z")
    response = admin_client.post(
        reverse("admin:integrations_apiclient_changelist"),
        {"action": "rotate_keys", "_selected_action": [client.pk]},
        follow=True,
    )
    assert "issued" not in (response.context or {}) or not response.context["issued"]
    client.refresh_from_db()
    assert client.revoked_at is not None


def test_the_key_page_is_a_get_that_shows_the_key_once(admin_client):
    response = admin_client.post(reverse(ADD), {"name": "Refresher", **ALL_SCOPES}, follow=True)
    [(shown_at, _)] = response.redirect_chain
    [issued] = response.context["issued"]
    assert issued.key in response.text
    # The session kept it only between the POST and the GET (encrypted: the next test).
    session = admin_client.session
    assert not [name for name in session.keys() if name.startswith("api-keys-to-show-")]  # noqa: SIM118 - a SessionStore is not iterable
    again = admin_client.get(shown_at, follow=True)  # a refresh, or the back button
    assert issued.key not in again.text
    assert "shown once and are not kept" in again.text
    assert ApiClient.objects.filter(name="Refresher").count() == 1


def test_the_stashed_key_is_never_in_the_session_in_clear(admin_client):
    from integrations.infra.secrets_at_rest import decrypt

    response = admin_client.post(reverse(ADD), {"name": "Stash", **ALL_SCOPES})
    assert response.status_code == 302
    client = ApiClient.objects.get(name="Stash")
    [stash] = [v for k, v in admin_client.session.items() if k.startswith("api-keys-to-show-")]
    assert client.key_prefix not in str(stash)
    [[client_pk, ciphertext]] = stash["keys"]
    key = decrypt(ciphertext)
    assert client_pk == client.pk
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest()


def test_a_new_client_may_use_nothing_until_chosen(admin_client):
    form = admin_client.get(reverse(ADD)).context["adminform"].form
    assert not any(form[name].value() for name in ALL_SCOPES)
    refused = admin_client.post(reverse(ADD), {"name": "Nothing"})
    assert "Choose what the key may use" in refused.text
    assert not ApiClient.objects.filter(name="Nothing").exists()


def test_a_rotation_may_keep_the_old_key_working_for_a_while(admin_client):
    """Issue 34, item 10: the telephony side switches over in its own time."""
    from datetime import timedelta

    from django.utils import timezone

    client, old = _create(admin_client)
    changelist = reverse("admin:integrations_apiclient_changelist")
    asked = admin_client.post(
        changelist, {"action": "rotate_keys", "_selected_action": [client.pk]}
    )
    assert 'name="keep_old_for"' in asked.text and "7 days" in asked.text
    response = admin_client.post(
        changelist,
        {
            "action": "rotate_keys",
            "_selected_action": [client.pk],
            "confirm": "yes",
            "keep_old_for": "86400",
        },
        follow=True,
    )
    [issued] = response.context["issued"]
    assert _calls_api(old).status_code == 404 and _calls_api(issued.key).status_code == 404
    client.refresh_from_db()
    assert client.previous_key_expires_at > timezone.now() + timedelta(hours=23)
    assert client.previous_key_hash == hashlib.sha256(old.encode()).hexdigest()  # hashed
    # Past its time the old key is refused; a revocation refuses both at once.
    ApiClient.objects.filter(pk=client.pk).update(
        previous_key_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert _calls_api(old).status_code == 401
    ApiClient.objects.filter(pk=client.pk).update(
        previous_key_expires_at=timezone.now() + timedelta(hours=1)
    )
    assert _calls_api(old).status_code == 404
    admin_client.post(
        reverse("admin:integrations_apiclient_revoke", args=[client.pk]), {"confirm": "yes"}
    )
    assert _calls_api(old).status_code == 401 and _calls_api(issued.key).status_code == 401


def test_keeping_the_old_key_is_bounded_and_refuses_made_up_periods(admin_client):
    from datetime import timedelta

    from integrations.services.api_clients import rotate_key

    client, _ = _create(admin_client)
    rotated = rotate_key(client, keep_old_for=timedelta(days=90))
    assert rotated.client.previous_key_expires_at - rotated.client.key_rotated_at == timedelta(
        days=7
    )
    changelist = reverse("admin:integrations_apiclient_changelist")
    admin_client.post(
        changelist,
        {
            "action": "rotate_keys",
            "_selected_action": [client.pk],
            "confirm": "yes",
            "keep_old_for": "999999",  # not offered: the old key stops at once
        },
    )
    client.refresh_from_db()
    assert client.previous_key_expires_at is None
