"""DRF authentication classes for Sesame access tokens."""
from urllib.parse import quote

import jwt
import requests
from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken


class SesameJWTAuthentication(JWTStatelessUserAuthentication):
    """simplejwt plus the RFC 9068 typ check it lacks, so an ID token (same
    issuer, same keys) is not accepted as an access token."""

    def get_validated_token(self, raw_token):
        try:
            typ = jwt.get_unverified_header(raw_token).get("typ", "")
        except jwt.InvalidTokenError:
            typ = ""
        if typ.lower() not in ("at+jwt", "application/at+jwt"):
            raise InvalidToken("Token is not an access token")
        return super().get_validated_token(raw_token)


class IntrospectionUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "Token introspection is unavailable."


class IntrospectedUser:
    is_authenticated = True

    def __init__(self, info):
        self.id = info.get("sub")
        self.username = info.get("username") or info.get("sub")


class SesameIntrospectionAuthentication(authentication.BaseAuthentication):
    """Asks Sesame about every token (RFC 7662): works for opaque tokens and
    JWTs, and sees revocation at once."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        auth = (quote(settings.SESAME_INTROSPECT_CLIENT_ID, safe=""),
                quote(settings.SESAME_INTROSPECT_CLIENT_SECRET, safe=""))
        try:
            resp = requests.post(settings.SESAME_INTROSPECTION_URL, auth=auth, timeout=5,
                                 data={"token": parts[1].decode(), "token_type_hint": "access_token"})
            resp.raise_for_status()
            info = resp.json()
        except (requests.RequestException, ValueError) as e:
            raise IntrospectionUnavailable() from e
        aud = info.get("aud") or []
        aud = [aud] if isinstance(aud, str) else aud
        if (not info.get("active") or info.get("token_type") == "refresh_token"
                or settings.RS_AUDIENCE not in aud):
            raise exceptions.AuthenticationFailed("Token is not active.")
        return IntrospectedUser(info), info

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
