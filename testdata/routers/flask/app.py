"""A Flask application served by Werkzeug with default settings (strict
slashes redirect with 308, repeated slashes are merged), for forgeproof's
differential dispatch test. Every view answers with its own name, so the
test learns which view a request reached.

Usage: python3 app.py PORT
"""
import logging
import sys

from flask import Flask

app = Flask(__name__)


def named(name):
    def view(**kwargs):
        return name, 200, {"Content-Type": "text/plain"}
    view.__name__ = name
    return view


app.add_url_rule("/transfer", view_func=named("transfer"), methods=["POST"])
app.add_url_rule("/admin/users", view_func=named("admin"), methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
app.add_url_rule("/api/items/<id>", view_func=named("items"), methods=["POST"])
app.add_url_rule("/hooks/stripe", view_func=named("hooks"), methods=["POST"])


@app.errorhandler(404)
@app.errorhandler(405)
def none(e):
    return "none", 404, {"Content-Type": "text/plain"}


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), use_reloader=False, threaded=True)
