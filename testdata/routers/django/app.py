"""A Django application with default settings and CommonMiddleware (which
redirects to the slash-ended URL), for forgeproof's differential dispatch
test. Every view answers with its own name, so the test learns which view a
request reached. It is served by wsgiref, as Django's runserver is.

Usage: python3 app.py PORT
"""
import sys
from wsgiref.simple_server import make_server, WSGIRequestHandler

from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="differential-test-only",
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
)

import django  # noqa: E402

django.setup()

from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def named(name):
    def view(request, **kwargs):
        return HttpResponse(name, content_type="text/plain")
    return view


urlpatterns = [
    path("transfer/", named("transfer")),
    path("admin/users/", named("admin")),
    path("api/items/<str:id>/", named("items")),
    path("hooks/stripe/", named("hooks")),
]


def handler404(request, exception=None):
    return HttpResponse("none", status=404, content_type="text/plain")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    from django.core.wsgi import get_wsgi_application

    make_server("127.0.0.1", int(sys.argv[1]), get_wsgi_application(), handler_class=QuietHandler).serve_forever()
