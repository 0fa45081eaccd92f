"""A small Django 3.2 application in one file, unchanged behind the
forgeproof gateway in tests. Django's CsrfViewMiddleware guards every POST
but the exempt webhook. The proxy settings are the ones Django's
deployment checklist recommends behind a TLS-terminating proxy
(SECURE_PROXY_SSL_HEADER, USE_X_FORWARDED_HOST, secure cookies), so that
Django's own Referer check sees the public origin. Sessions live in signed
cookies: no database. GET /state is read by the tests only (directly, not
through the gateway). Run: python3 app.py PORT"""
import json
import sys

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only-secret-test-only-secret-test-only-secret",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["localhost", "127.0.0.1"],
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
    INSTALLED_APPS=["django.contrib.sessions"],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    USE_X_FORWARDED_HOST=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)

import django  # noqa: E402

django.setup()

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

STATE = {"notes": [], "likes": 0, "hooks": 0, "resets": 0, "logins": 0}

PAGE = engines["django"].from_string("""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Django notes</title></head>
<body>
<p id="user">{{ user|default:"signed out" }}</p>
{% if not user %}
<form method="post" action="/login/" id="login">{% csrf_token %}
<input name="user" value="alice"><button id="signin">Sign in</button></form>
{% else %}
<form method="post" action="/notes/">{% csrf_token %}
<input name="text" id="text" value="hello"><button id="post">Post</button></form>
<button id="like" onclick="like()">Like</button>
<a href="/admin/" id="admin">Admin</a>
<form method="post" action="/logout/">{% csrf_token %}<button id="signout">Sign out</button></form>
{% endif %}
<p id="likes"></p>
<script>
function cookie(name) {
  const m = document.cookie.match("(^|; )" + name + "=([^;]*)");
  return m ? decodeURIComponent(m[2]) : "";
}
async function like() {
  // Django's documented AJAX recipe: the csrftoken cookie in X-CSRFToken.
  const r = await fetch("/api/like/", {method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRFToken": cookie("csrftoken")},
    body: JSON.stringify({n: 1})});
  document.getElementById("likes").textContent = r.status + " " + (await r.text());
}
</script>
</body></html>""")

ADMIN = engines["django"].from_string("""<!DOCTYPE html>
<html><head><title>Admin</title></head><body>
<form method="post" action="/admin/reset/">{% csrf_token %}<button id="reset">Reset likes</button></form>
</body></html>""")


def index(request):
    get_token(request)  # the page's fetch reads the csrftoken cookie
    return HttpResponse(PAGE.render({"user": request.session.get("user")}, request))


@require_POST
def login(request):
    request.session.flush()
    request.session["user"] = request.POST.get("user", "alice")
    STATE["logins"] += 1
    return HttpResponseRedirect("/")


@require_POST
def logout(request):
    request.session.flush()
    return HttpResponseRedirect("/")


@require_POST
def notes(request):
    if not request.session.get("user"):
        return HttpResponse("sign in first", status=401)
    STATE["notes"].append({"user": request.session["user"], "text": request.POST.get("text", "")})
    return HttpResponseRedirect("/")


@require_POST
def like(request):
    if not request.session.get("user"):
        return JsonResponse({"error": "sign in first"}, status=401)
    STATE["likes"] += 1
    return JsonResponse({"likes": STATE["likes"]})


def admin(request):
    if not request.session.get("user"):
        return HttpResponseRedirect("/")
    return HttpResponse(ADMIN.render({}, request))


@require_POST
def reset(request):
    if not request.session.get("user"):
        return HttpResponse("sign in first", status=401)
    STATE["likes"] = 0
    STATE["resets"] += 1
    return HttpResponseRedirect("/")


@csrf_exempt
@require_POST
def hook(request):
    STATE["hooks"] += 1
    return JsonResponse({"ok": True})


@require_GET
def delete_note(request, n):
    # A state-changing GET, declared unsafe in the gateway's configuration.
    if request.session.get("user") and 0 <= n < len(STATE["notes"]):
        STATE["notes"].pop(n)
    return HttpResponseRedirect("/")


def state(request):
    return JsonResponse(STATE)


urlpatterns = [
    path("", index),
    path("login/", login),
    path("logout/", logout),
    path("notes/", notes),
    path("notes/<int:n>/delete/", delete_note),
    path("api/like/", like),
    path("admin/", admin),
    path("admin/reset/", reset),
    path("hook/", hook),
    path("state", state),
]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], "runserver", "--noreload", "127.0.0.1:" + sys.argv[1]])
