"""Authlib (unmodified) validates Sesame's metadata: RFC 8414 at
/.well-known/oauth-authorization-server and OpenID Connect Discovery at
/.well-known/openid-configuration (issue 13 item 16: a
*_auth_signing_alg_values_supported is REQUIRED wherever private_key_jwt
is offered).

usage: python3 authlib_metadata.py ISSUER
"""
import json
import sys
import urllib.request

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

issuer = sys.argv[1]
failed = False
for path, cls in (("/.well-known/oauth-authorization-server", AuthorizationServerMetadata),
                  ("/.well-known/openid-configuration", OpenIDProviderMetadata)):
    name = "Authlib: %s %s.validate()" % (path, cls.__name__)
    try:
        with urllib.request.urlopen(issuer + path, timeout=10) as res:
            doc = json.load(res)
        cls(doc).validate()
        if doc.get("issuer") != issuer:
            raise ValueError("issuer %r" % doc.get("issuer"))
        print("PASS " + name)
    except Exception as e:  # report every failure, keep going
        failed = True
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
sys.exit(1 if failed else 0)
