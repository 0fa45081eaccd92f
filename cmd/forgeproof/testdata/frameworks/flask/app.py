"""A small Flask + Flask-WTF application, unchanged behind the forgeproof
gateway in tests. Flask-WTF's CSRFProtect guards every POST but the
exempt webhook; ProxyFix makes Flask see the gateway's public scheme and
host, as Flask's deployment guide recommends. GET /state is read by the
tests only (directly, not through the gateway)."""
import sys

from flask import Flask, jsonify, redirect, render_template_string, request, session
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

app = Flask(__name__)
app.config.update(
    SECRET_KEY="test-only-secret",
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_SAMESITE="Lax",
)
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
csrf = CSRFProtect(app)

STATE = {"notes": [], "likes": 0, "hooks": 0, "resets": 0, "logins": 0}

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Flask notes</title>
<meta name="csrf-token" content="{{ csrf_token() }}"></head>
<body>
<p id="user">{{ user or "signed out" }}</p>
{% if not user %}
<form method="post" action="/login" id="login">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input name="user" value="alice"><button id="signin">Sign in</button></form>
{% else %}
<form method="post" action="/notes">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input name="text" id="text" value="hello"><button id="post">Post</button></form>
<button id="like" onclick="like()">Like</button>
<a href="/admin" id="admin">Admin</a>
<form method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button id="signout">Sign out</button></form>
{% endif %}
<p id="likes"></p>
<script>
async function like() {
  const r = await fetch("/api/like", {method: "POST",
    headers: {"Content-Type": "application/json",
              "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content},
    body: JSON.stringify({n: 1})});
  document.getElementById("likes").textContent = r.status + " " + (await r.text());
}
</script>
</body></html>"""

ADMIN = """<!DOCTYPE html>
<html><head><title>Admin</title></head><body>
<form method="post" action="/admin/reset">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button id="reset">Reset likes</button></form>
</body></html>"""


@app.get("/")
def index():
    return render_template_string(PAGE, user=session.get("user"))


@app.post("/login")
def login():
    session.clear()
    session["user"] = request.form.get("user", "alice")
    STATE["logins"] += 1
    return redirect("/", 303)


@app.post("/logout")
def logout():
    session.clear()
    return redirect("/", 303)


def signed_in():
    return session.get("user") is not None


@app.post("/notes")
def notes():
    if not signed_in():
        return "sign in first", 401
    STATE["notes"].append({"user": session["user"], "text": request.form.get("text", "")})
    return redirect("/", 303)


@app.post("/api/like")
def like():
    if not signed_in():
        return jsonify(error="sign in first"), 401
    STATE["likes"] += 1
    return jsonify(likes=STATE["likes"])


@app.get("/admin")
def admin():
    if not signed_in():
        return redirect("/", 303)
    return render_template_string(ADMIN)


@app.post("/admin/reset")
def reset():
    if not signed_in():
        return "sign in first", 401
    STATE["likes"] = 0
    STATE["resets"] += 1
    return redirect("/", 303)


@app.post("/hook")
@csrf.exempt
def hook():
    STATE["hooks"] += 1
    return jsonify(ok=True)


@app.get("/notes/<int:n>/delete")
def delete_note(n):
    # A state-changing GET, declared unsafe in the gateway's configuration.
    if signed_in() and 0 <= n < len(STATE["notes"]):
        STATE["notes"].pop(n)
    return redirect("/", 303)


@app.get("/state")
def state():
    return jsonify(STATE)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
