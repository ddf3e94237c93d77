"""Authentication and permission for the calls API (SPEC §3)."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication, TokenAuthentication
from rest_framework.permissions import BasePermission

from ..models.api_clients import PUBLIC_KEY_PREFIX, ApiClient
from ..services.api_clients import client_for_key, client_for_key_pair
from .throttles import FailedLoginGuard

CALLS_API_PERMISSION = "integrations.use_calls_api"
TOKEN_KEY = re.compile(r"[0-9a-f]{40}")


class HashedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, checked against API clients' hashed keys."""

    def authenticate_credentials(self, key):
        client = client_for_key(key)
        if client is None or not client.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return client.user, client


class GuardedBasicAuthentication(BasicAuthentication):
    """HTTP Basic, with failed logins throttled: a person's username and password, or
    an API client's ``public key:private key`` (TrackDrive's scheme).

    A public key (``pub_…``) is checked against the client's key hash, which is fast.
    A password check is a slow hash by design; unthrottled, a few clients guessing
    passwords kept every web worker hashing and timed out every pixel. Past
    API_AUTH_FAILURE_RATE failures from one address, Basic logins from it are
    answered 429 without checking anything.
    """

    def authenticate(self, request):
        if not request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("basic "):
            return None
        guard = FailedLoginGuard(request._request)
        if guard.exhausted():
            raise exceptions.Throttled(
                guard.wait(),
                detail="Too many failed logins from this address; try again later.",
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            guard.failed()
            raise

    def authenticate_credentials(self, userid, password, request=None):
        if not userid.startswith(PUBLIC_KEY_PREFIX):
            return super().authenticate_credentials(userid, password, request)
        client = client_for_key_pair(userid, password)
        if client is None or not client.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid public or private key.")
        return client.user, client


class BodyTokenAuthentication(HashedTokenAuthentication):
    """Accept a DRF token as ``auth_token`` in the body or query, as TrackDrive does."""

    def authenticate(self, request):
        key = request.query_params.get("auth_token")
        if key is None:
            try:
                data = request.data
            except Exception:  # an unreadable body is reported by the view, not here
                return None
            key = data.get("auth_token") if hasattr(data, "get") else None
        if not key or not isinstance(key, str):
            return None
        if not TOKEN_KEY.fullmatch(key):
            # Not a key we could have issued: refuse it without a database lookup.
            raise exceptions.AuthenticationFailed("Invalid token.")
        return self.authenticate_credentials(key)


class CanUseCallsApi(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(CALLS_API_PERMISSION))


class ScopeDenied(exceptions.PermissionDenied):
    """An API client's key lacks the scope the endpoint needs (answered 403, naming it)."""


class KeyHasScope(BasePermission):
    """An API client's key may use only its scopes (``view.required_scope``).

    A person's username and password is governed by permissions alone.
    """

    def has_permission(self, request, view):
        client = request.auth
        scope = getattr(view, "required_scope", "calls")
        if isinstance(client, ApiClient) and not client.allows(scope):
            allowed = ", ".join(client.scope_names) or "none"
            raise ScopeDenied(
                f"auth: this key may not use {scope} (its scopes: {allowed}); an "
                "administrator can allow it on the API client's page"
            )
        return True


class BodyTokenScheme(OpenApiAuthenticationExtension):
    """Describe ``auth_token`` (body or query) in the OpenAPI schema."""

    target_class = BodyTokenAuthentication
    name = "authTokenParameter"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "query",
            "name": "auth_token",
            "description": "An API client's key, as auth_token in the query or the body.",
        }


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """Describe ``Authorization: Token <key>`` in the OpenAPI schema."""

    target_class = HashedTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An API client's key (admin: API clients), as 'Token <key>'.",
        }


class GuardedBasicScheme(OpenApiAuthenticationExtension):
    """Describe HTTP Basic (``GuardedBasicAuthentication``) in the OpenAPI schema."""

    target_class = GuardedBasicAuthentication
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "An API client's public key and private key (TrackDrive's "
            "scheme: base64 of 'pub_…:key'), or a user's username and password. Failed "
            "logins are throttled per address (API_AUTH_FAILURE_RATE).",
        }
