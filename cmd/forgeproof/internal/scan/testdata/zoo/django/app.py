"""A Django 3.2 application for forgeproof's scanner zoo.

Django's CsrfViewMiddleware protects every POST as its documentation
shows ({% csrf_token %} in forms, X-CSRFToken from the csrftoken cookie in
JavaScript); sign-in rotates the session and the token as
django.contrib.auth.login does. Some views carry the weaknesses listed in
answers.json. GET /api/state/ reads back every state change, so that tests
judge the scanner by effect.

Usage: python3 app.py PORT
"""

import json
import secrets
import sys
import threading
from socketserver import ThreadingMixIn
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=secrets.token_hex(32),
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["localhost", "127.0.0.1"],
    INSTALLED_APPS=["django.contrib.sessions"],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    # Django's default: an explicit SameSite=Lax session cookie.
    SESSION_COOKIE_SAMESITE="Lax",
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
    USE_TZ=True,
)

import django  # noqa: E402

django.setup()

from django.http import HttpResponse, HttpResponseForbidden, JsonResponse  # noqa: E402
from django.middleware.csrf import rotate_token  # noqa: E402
from django.shortcuts import redirect  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie  # noqa: E402

LOCK = threading.Lock()
STATE = {"balance": 1000, "points": 100, "notes": [1, 2, 3], "deleted": 0, "transfers": 0,
         "email": "alice@example.com", "webhooks": 0, "partner": 0, "beta": 0, "vouchers": 0, "feedback": 0}
ISSUED = set()

PAGE = engines["django"].from_string(
    """<!doctype html><html><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p>{{ text }}</p>
{% if form %}<form method="post" action="{{ form }}">{% csrf_token %}<input name="to"><input name="amount"><button>Send</button></form>{% endif %}
</body></html>""")


def page(request, title, text="", form=None, status=200):
    return HttpResponse(PAGE.render({"title": title, "text": text, "form": form}, request), status=status)


def signed_in(view):
    def wrapped(request, *args, **kwargs):
        if request.session.get("user") != "alice":
            return redirect("/login/")
        return view(request, *args, **kwargs)
    return wrapped


def same_origin(view):
    """Refuses a request whose Origin is not the application's, as
    Django 4.0's CsrfViewMiddleware does."""
    def wrapped(request, *args, **kwargs):
        origin = request.META.get("HTTP_ORIGIN")
        expected = ("https://" if request.is_secure() else "http://") + request.get_host()
        if origin is not None and origin != expected:
            return HttpResponseForbidden("Origin checking failed")
        return view(request, *args, **kwargs)
    return wrapped


def bump(key, by=1):
    with LOCK:
        STATE[key] += by
        return STATE[key]


@ensure_csrf_cookie
def home(request):
    return page(request, "Zoo bank", "Signed in: %s" % request.session.get("user", "nobody"), form="/transfer/")


@ensure_csrf_cookie
def login(request):
    if request.method == "POST":
        if request.POST.get("username") != "alice" or request.POST.get("password") != "secret":
            return page(request, "Sign in", "Wrong password", status=401)
        # What django.contrib.auth.login does.
        request.session.cycle_key()
        rotate_token(request)
        request.session["user"] = "alice"
        return redirect("/")
    return page(request, "Sign in", "", form="/login/")


def state(request):
    with LOCK:
        return JsonResponse(STATE)


@signed_in
def settings_page(request):
    return page(request, "Settings page", "Email: " + STATE["email"])


@same_origin
@signed_in
def transfer(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    n = bump("transfers")
    bump("balance", -int(request.POST.get("amount") or 0))
    return page(request, "Transfer", "%d transfers" % n)


@same_origin
@signed_in
def profile(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    if request.headers.get("X-Requested-With") != "XMLHttpRequest":
        return JsonResponse({"error": "X-Requested-With required"}, status=400)
    body = json.loads(request.body or b"{}")
    with LOCK:
        STATE["email"] = str(body.get("email", ""))
    return JsonResponse({"email": STATE["email"]})


# Planted: a webhook exempt from CSRF protection.
@csrf_exempt
@signed_in
def webhook(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    return JsonResponse({"ok": True, "webhooks": bump("webhooks")})


# Planted: the Origin's host name is compared, its scheme and port are not.
@csrf_exempt
@signed_in
def partner(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    host = urlsplit(request.META.get("HTTP_ORIGIN", "")).hostname
    if host != request.get_host().rsplit(":", 1)[0]:
        return HttpResponseForbidden("cross-origin request")
    return page(request, "Partner transfer", "%d partner transfers" % bump("partner"))


# Planted: Sec-Fetch-Site: same-site is trusted like same-origin.
@csrf_exempt
@signed_in
def beta(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    sfs = request.headers.get("Sec-Fetch-Site")
    expected = ("https://" if request.is_secure() else "http://") + request.get_host()
    ok = sfs in ("same-origin", "same-site", "none") if sfs else request.headers.get("Origin") == expected
    if not ok:
        return HttpResponseForbidden("cross-site request")
    return page(request, "Beta", "%d beta sign-ups" % bump("beta"))


# Planted: any well-formed token passes, whoever it was issued to.
@csrf_exempt
@signed_in
def vouchers(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    t = request.headers.get("X-CSRFToken") or request.POST.get("csrfmiddlewaretoken", "")
    if len(t) != 64 or not t.isalnum():
        return HttpResponseForbidden("CSRF token missing or incorrect")
    return page(request, "Voucher", "%d vouchers claimed" % bump("vouchers"))


# Planted: Django's double-submit cookie alone, over plain HTTP, without
# the Origin check: a cookie tossed by a sibling subdomain passes.
@signed_in
def feedback(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    return page(request, "Feedback", "%d messages" % bump("feedback"))


# Planted: state-changing GETs.
@signed_in
def redeem(request):
    with LOCK:
        if STATE["points"] >= 10:
            STATE["points"] -= 10
        left = STATE["points"]
    return page(request, "Rewards", "%d points left" % left)


@signed_in
def delete_note(request, note):
    with LOCK:
        STATE["deleted"] += 1
        STATE["notes"] = [n for n in STATE["notes"] if n != note]
        left = len(STATE["notes"])
    return page(request, "Notes", "%d notes" % left)


urlpatterns = [
    path("", home),
    path("login/", login),
    path("api/state/", state),
    path("settings/", settings_page),
    path("transfer/", transfer),
    path("api/profile/", profile),
    path("api/webhook/", webhook),
    path("partner/transfer/", partner),
    path("api/beta/", beta),
    path("vouchers/claim/", vouchers),
    path("feedback/", feedback),
    path("rewards/redeem/", redeem),
    path("notes/<int:note>/delete/", delete_note),
]


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    from django.core.wsgi import get_wsgi_application

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    make_server("127.0.0.1", port, get_wsgi_application(), server_class=Server, handler_class=QuietHandler).serve_forever()
