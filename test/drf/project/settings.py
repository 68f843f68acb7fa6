# Minimal Django settings for an API that accepts Sesame access tokens.
# docs/resource-servers.md shows these settings; ../run.sh tests them.
import os
import secrets

SESAME_ISSUER = os.environ["SESAME_ISSUER"]  # e.g. https://id.example.com
RS_AUDIENCE = os.environ["RS_AUDIENCE"]  # this API's identifier

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
]
DATABASES = {}  # tokens carry the identity: no user table needed

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["sesame_auth.SesameJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    # Must equal Sesame's SESAME_ACCESS_TOKEN_SIGNING_ALG (default ES256).
    # simplejwt 5.2 takes one algorithm and knows RS*/ES*/HS*, not PS256 or
    # EdDSA; HS* must never be used with Sesame.
    "ALGORITHM": "ES256",
    "SIGNING_KEY": None,  # this API never issues tokens
    "VERIFYING_KEY": None,  # keys come from the JWKS, by kid
    "JWK_URL": SESAME_ISSUER + "/.well-known/jwks.json",
    "ISSUER": SESAME_ISSUER,
    "AUDIENCE": RS_AUDIENCE,
    "LEEWAY": 30,  # seconds of clock skew
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": None,  # Sesame tokens have no simplejwt token_type
    "JTI_CLAIM": "jti",
    "AUTH_TOKEN_CLASSES": ("rest_framework_simplejwt.tokens.AccessToken",),
}

# For SesameIntrospectionAuthentication: a Sesame client holding the
# sesame:introspect scope (or the client whose tokens are checked).
SESAME_INTROSPECTION_URL = SESAME_ISSUER + "/oauth2/introspect"
SESAME_INTROSPECT_CLIENT_ID = os.environ.get("SESAME_INTROSPECT_CLIENT_ID", "")
SESAME_INTROSPECT_CLIENT_SECRET = os.environ.get("SESAME_INTROSPECT_CLIENT_SECRET", "")
