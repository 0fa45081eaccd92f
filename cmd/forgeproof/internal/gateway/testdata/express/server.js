// A small Express bank that knows nothing about CSRF: it trusts its
// session cookie. The forgeproof gateway tests protect it without changing
// a line of it.
"use strict";
const express = require("express");
const session = require("express-session");

const app = express();
const transfers = [];

app.use(express.json());
app.use(express.urlencoded({ extended: false }));
app.use(session({
  secret: "test-only-secret",
  resave: false,
  saveUninitialized: false,
}));

function page(user) {
  return `<!DOCTYPE html>
<html><head><title>Express bank</title></head>
<body>
<p id="user">${user ? "signed in as " + user : "signed out"}</p>
<form method="post" action="/login"><input name="user" value="alice"><button>Sign in</button></form>
<form method="post" action="/transfer"><input name="to" value="bob"><input name="amount" value="10"><button>Send</button></form>
<script>
async function transfer(to, amount) {
  const r = await fetch("/api/transfer", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({to, amount})});
  return r.json();
}
</script>
</body></html>`;
}

app.get("/", (req, res) => res.type("html").send(page(req.session.user)));

app.post("/login", (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = String(req.body.user || "alice");
    res.json({ user: req.session.user });
  });
});

app.post("/logout", (req, res) => {
  req.session.destroy(() => {
    res.clearCookie("connect.sid");
    res.json({ user: null });
  });
});

function signedIn(req, res, next) {
  if (!req.session.user) return res.status(401).json({ error: "sign in first" });
  next();
}

app.post("/api/transfer", signedIn, (req, res) => {
  const t = { from: req.session.user, to: String(req.body.to), amount: Number(req.body.amount), via: "json" };
  transfers.push(t);
  res.json(t);
});

app.post("/transfer", signedIn, (req, res) => {
  transfers.push({ from: req.session.user, to: String(req.body.to), amount: Number(req.body.amount), via: "form" });
  res.redirect(303, "/");
});

app.get("/api/transfers", (req, res) => res.json(transfers));

const port = Number(process.argv[2] || process.env.PORT || 3000);
app.listen(port, "127.0.0.1", () => console.log(`express bank on 127.0.0.1:${port}`));
