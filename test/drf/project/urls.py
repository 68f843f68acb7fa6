from django.urls import path

from views import hello, introspect_hello

urlpatterns = [
    path("hello", hello),
    path("introspect/hello", introspect_hello),
]
