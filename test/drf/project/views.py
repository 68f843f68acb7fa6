from rest_framework.decorators import api_view, authentication_classes
from rest_framework.response import Response

from sesame_auth import SesameIntrospectionAuthentication


def _hello(request):
    claims = request.auth  # the validated token's claims, or the introspection answer
    name = claims.get("preferred_username") or claims.get("username") or claims.get("sub")
    return Response({"message": f"Hello, {name}! You are authenticated."})


@api_view(["GET"])
def hello(request):
    return _hello(request)


@api_view(["GET"])
@authentication_classes([SesameIntrospectionAuthentication])
def introspect_hello(request):
    return _hello(request)
