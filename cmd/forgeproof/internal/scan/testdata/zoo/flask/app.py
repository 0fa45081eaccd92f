"""A Flask + Flask-WTF application for forgeproof's scanner zoo.

Flask-WTF's CSRFProtect guards every POST as its documentation shows (a
csrf_token hidden field in forms, a csrf-token meta tag read into
X-CSRFToken by JavaScript); sign-in clears the session, which drops the
token's secret. Some views carry the weaknesses listed in answers.json.
GET /api/state/ reads back every state change, so that tests judge the
scanner by effect.

Usage: python3 app.py PORT
"""

import secrets
import sys
import threading
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, redirect, render_template_string, request, session
from flask_wtf.csrf import CSRFProtect, generate_csrf
from itsdangerous import BadData, URLSafeTimedSerializer

app = Flask(__name__)
app.config.update(SECRET_KEY=secrets.token_hex(32), WTF_CSRF_TIME_LIMIT=None)
csrf = CSRFProtect(app)

LOCK = threading.Lock()
STATE = {"balance": 1000, "points": 100, "notes": [1, 2, 3], "deleted": 0, "transfers": 0,
         "email": "alice@example.com", "webhooks": 0, "partner": 0, "beta": 0, "vouchers": 0, "feedback": 0}

PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="csrf-token" content="{{ csrf_token() }}">
<title>{{ title }}</title></head><body><h1>{{ title }}</h1><p>{{ text }}</p>
{% if form %}<form method="post" action="{{ form }}"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}"><input name="to"><input name="amount"><button>Send</button></form>{% endif %}
</body></html>"""


def page(title, text="", form=None, status=200):
    return render_template_string(PAGE, title=title, text=text, form=form), status


def signed_in(view):
    def wrapped(*args, **kwargs):
        if session.get("user") != "alice":
            return redirect("/login/")
        return view(*args, **kwargs)
    wrapped.__name__ = view.__name__
    return wrapped


def bump(key, by=1):
    with LOCK:
        STATE[key] += by
        return STATE[key]


@app.get("/")
def home():
    body, status = page("Zoo bank", "Signed in: %s" % session.get("user", "nobody"), form="/transfer/")
    resp = app.make_response((body, status))
    # A readable copy for the legacy feedback form's double submit.
    resp.set_cookie("fb_csrf", generate_csrf())
    return resp


@app.route("/login/", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        if request.form.get("username") != "alice" or request.form.get("password") != "secret":
            return page("Sign in", "Wrong password", status=401)
        session.clear()
        session["user"] = "alice"
        return redirect("/")
    return page("Sign in", form="/login/")


@app.get("/api/state/")
def state():
    with LOCK:
        return jsonify(STATE)


@app.get("/settings/")
@signed_in
def settings_page():
    return page("Settings page", "Email: " + STATE["email"])


@app.post("/transfer/")
@signed_in
def transfer():
    n = bump("transfers")
    bump("balance", -int(request.form.get("amount") or 0))
    return page("Transfer", "%d transfers" % n)


@app.post("/api/profile/")
@signed_in
def profile():
    if request.headers.get("X-Requested-With") != "XMLHttpRequest":
        return jsonify(error="X-Requested-With required"), 400
    with LOCK:
        STATE["email"] = str((request.get_json(silent=True) or {}).get("email", ""))
        return jsonify(email=STATE["email"])


# Planted: a webhook exempt from CSRF protection.
@app.post("/api/webhook/")
@csrf.exempt
@signed_in
def webhook():
    return jsonify(ok=True, webhooks=bump("webhooks"))


# Planted: the Origin's host name is compared, its scheme and port are not.
@app.post("/partner/transfer/")
@csrf.exempt
@signed_in
def partner():
    if urlsplit(request.headers.get("Origin", "")).hostname != request.host.rsplit(":", 1)[0]:
        abort(403)
    return page("Partner transfer", "%d partner transfers" % bump("partner"))


# Planted: Sec-Fetch-Site: same-site is trusted like same-origin.
@app.post("/api/beta/")
@csrf.exempt
@signed_in
def beta():
    sfs = request.headers.get("Sec-Fetch-Site")
    ok = sfs in ("same-origin", "same-site", "none") if sfs else request.headers.get("Origin") == request.host_url.rstrip("/")
    if not ok:
        abort(403)
    return page("Beta", "%d beta sign-ups" % bump("beta"))


# Planted: the token's signature is checked, but not that it belongs to
# this session.
@app.post("/vouchers/claim/")
@csrf.exempt
@signed_in
def vouchers():
    t = request.headers.get("X-CSRFToken") or request.form.get("csrf_token", "")
    try:
        URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").loads(t)
    except BadData:
        abort(403)
    return page("Voucher", "%d vouchers claimed" % bump("vouchers"))


# Planted: a naive double submit: the cookie and the field must match, and
# nothing ties either to the session.
@app.post("/feedback/")
@csrf.exempt
@signed_in
def feedback():
    c, f = request.cookies.get("fb_csrf", ""), request.form.get("csrf_token", "")
    if not c or not secrets.compare_digest(c, f):
        abort(403)
    return page("Feedback", "%d messages" % bump("feedback"))


# Planted: state-changing GETs.
@app.get("/rewards/redeem/")
@signed_in
def redeem():
    with LOCK:
        if STATE["points"] >= 10:
            STATE["points"] -= 10
        left = STATE["points"]
    return page("Rewards", "%d points left" % left)


@app.get("/notes/<int:note>/delete/")
@signed_in
def delete_note(note):
    with LOCK:
        STATE["deleted"] += 1
        STATE["notes"] = [n for n in STATE["notes"] if n != note]
        left = len(STATE["notes"])
    return page("Notes", "%d notes" % left)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=port, threaded=True)
