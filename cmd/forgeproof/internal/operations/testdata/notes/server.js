// A small Express notes service that knows nothing about CSRF or input
// validation: it trusts its session cookie and whatever JSON it is sent.
// The forgeproof gateway protects it from its OpenAPI description
// (openapi.yaml) alone. Every request that reaches it is recorded, with
// its body exactly as received, and listed by GET /_log (read by the tests
// directly, not through the gateway).
"use strict";
const express = require("express");
const session = require("express-session");

const app = express();
const log = [];
const notes = [];

app.use(express.raw({ type: () => true, limit: "10mb" }), (req, res, next) => {
  const raw = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
  if (req.path !== "/_log") log.push({ method: req.method, path: req.path, body: raw });
  req.raw = raw;
  try {
    req.body = raw && /json/.test(req.get("content-type") || "") ? JSON.parse(raw) : {};
  } catch (e) {
    req.body = { unparsed: raw }; // Express would answer 400; keep going, as many handlers do
  }
  next();
});
app.use(session({ secret: "test-only-secret", resave: false, saveUninitialized: false }));

app.get("/_log", (req, res) => res.json(log));

app.get("/", (req, res) => res.type("html").send(`<!DOCTYPE html>
<html><head><title>Notes</title></head>
<body>
<p id="user">${req.session.user ? "signed in as " + req.session.user : "signed out"}</p>
<script>
async function call(method, path, body) {
  const r = await fetch(path, { method, headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.text() };
}
</script>
</body></html>`));

app.post("/login", (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = String(req.body.user);
    res.json({ user: req.session.user });
  });
});

function signedIn(req, res, next) {
  if (!req.session.user) return res.status(401).json({ error: "sign in first" });
  next();
}

app.get("/api/notes", (req, res) => res.json(notes));

app.post("/api/notes", signedIn, (req, res) => {
  const n = { id: notes.length + 1, title: String(req.body.title), priority: req.body.priority, owner: req.session.user, archived: false };
  notes.push(n);
  res.status(201).json(n);
});

// State changes on GET: the description marks it unsafe.
app.get("/api/notes/:id/archive", signedIn, (req, res) => {
  const n = notes.find((n) => n.id === Number(req.params.id));
  if (!n) return res.status(404).json({ error: "no such note" });
  n.archived = true;
  res.json(n);
});

app.post("/api/reauth", signedIn, (req, res) => {
  if (req.body.password !== "correct horse") return res.status(403).json({ error: "wrong password" });
  res.set("X-Reauth-Verified", "true").json({ ok: true });
});

app.post("/api/account/delete", signedIn, (req, res) => {
  res.json({ deleted: req.session.user });
});

app.post("/hooks/payment", (req, res) => res.json({ received: req.body.event }));

const port = Number(process.argv[2] || process.env.PORT || 3000);
app.listen(port, "127.0.0.1", () => console.log(`notes on 127.0.0.1:${port}`));
