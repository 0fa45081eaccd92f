// An Express 5 application for forgeproof's scanner zoo: csrf-csrf protects
// the form and JSON endpoints as its README shows, and some routes carry the
// weaknesses listed in answers.json. GET /api/state/ reads back every state
// change, so that tests judge the scanner by effect.
//
// Usage: node server.js PORT
"use strict";
const express = require("express");
const session = require("express-session");
const cookieParser = require("cookie-parser");
const cors = require("cors");
const crypto = require("crypto");
const { doubleCsrf } = require("csrf-csrf");

const port = Number(process.argv[2] || 3000);
const secret = crypto.randomBytes(32).toString("hex");
const app = express();

const state = { balance: 1000, points: 100, notes: [1, 2, 3], deleted: 0, transfers: 0, email: "alice@example.com", webhooks: 0, partner: 0, beta: 0, vouchers: 0, feedback: 0 };

app.use(cookieParser());
app.use(session({ secret, resave: false, saveUninitialized: true, name: "connect.sid" }));
// Every body is parsed as JSON whatever its Content-Type: a text/plain form
// post is read as JSON too (the planted content-type downgrade).
app.use("/api/webhook/", express.json({ type: "*/*" }));
app.use(express.json());
app.use(express.urlencoded({ extended: false }));

const { generateCsrfToken, doubleCsrfProtection } = doubleCsrf({
  getSecret: () => secret,
  getSessionIdentifier: (req) => req.session.id,
  cookieName: "x-csrf-token",
  cookieOptions: { sameSite: "strict", secure: false, httpOnly: true },
  getCsrfTokenFromRequest: (req) => req.headers["x-csrf-token"] || (req.body && req.body._csrf),
  // The routes that carry their own (weak) checks skip csrf-csrf.
  skipCsrfProtection: (req) => ["/api/webhook/", "/partner/transfer/", "/api/beta/", "/vouchers/claim/", "/feedback/"].includes(req.path),
});

// Tokens handed out to anyone, for the voucher check that forgets sessions.
const issued = new Set();
function token(req, res, opts) {
  const t = generateCsrfToken(req, res, opts);
  issued.add(t);
  return t;
}

const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

app.get("/", (req, res) => {
  const t = token(req, res);
  // A readable copy for the legacy feedback form's double submit.
  res.cookie("fb_csrf", t, { sameSite: "lax" });
  res.send(page("Zoo bank", `<p>Signed in: ${req.session.user || "nobody"}</p>
<form method="post" action="/transfer/"><input type="hidden" name="_csrf" value="${t}"><input name="to"><input name="amount"><button>Send</button></form>`));
});

app.get("/login/", (req, res) => {
  const t = token(req, res);
  res.send(page("Sign in", `<form method="post" action="/login/"><input type="hidden" name="_csrf" value="${t}"><input name="username"><input name="password" type="password"><button>Sign in</button></form>`));
});

app.post("/login/", doubleCsrfProtection, (req, res, next) => {
  if (req.body.username !== "alice" || req.body.password !== "secret") {
    return res.status(401).send(page("Sign in", "<p>Wrong password</p>"));
  }
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = "alice";
    token(req, res, { overwrite: true });
    // As express-session's README does: save before redirecting, or the
    // browser may follow the redirect before the session is stored and be
    // handed a new, anonymous one.
    req.session.save((err) => {
      if (err) return next(err);
      res.redirect(303, "/");
    });
  });
});

app.get("/api/state/", (req, res) => res.json(state));

function signedIn(req, res, next) {
  if (req.session.user !== "alice") return res.redirect(302, "/login/");
  next();
}

app.get("/settings/", signedIn, (req, res) => res.send(page("Settings page", `<p>Email: ${state.email}</p>`)));

app.post("/transfer/", doubleCsrfProtection, signedIn, (req, res) => {
  state.transfers++;
  state.balance -= Number((req.body || {}).amount) || 0;
  res.send(page("Transfer", `<p>${state.transfers} transfers</p>`));
});

app.post("/api/profile/", doubleCsrfProtection, signedIn, (req, res) => {
  if (req.get("X-Requested-With") !== "XMLHttpRequest") return res.status(400).json({ error: "X-Requested-With required" });
  state.email = String((req.body || {}).email || "");
  res.json({ email: state.email });
});

// Planted: a webhook that any page can call, with a CORS policy that
// reflects every origin with credentials.
app.options("/api/webhook/", cors({ origin: true, credentials: true }));
app.post("/api/webhook/", cors({ origin: true, credentials: true }), signedIn, (req, res) => {
  state.webhooks++;
  res.json({ ok: true, webhooks: state.webhooks });
});

// Planted: the Origin's host name is compared, its scheme and port are not.
app.post("/partner/transfer/", signedIn, (req, res) => {
  let host = "";
  try { host = new URL(req.get("Origin") || "").hostname; } catch { /* refused below */ }
  if (host !== req.hostname) return res.status(403).send(page("Forbidden", "<p>cross-origin request</p>"));
  state.partner++;
  res.send(page("Partner transfer", `<p>${state.partner} partner transfers</p>`));
});

// Planted: Sec-Fetch-Site: same-site is trusted like same-origin.
app.post("/api/beta/", signedIn, (req, res) => {
  const sfs = req.get("Sec-Fetch-Site");
  const ok = sfs ? ["same-origin", "same-site", "none"].includes(sfs) : req.get("Origin") === `${req.protocol}://${req.get("Host")}`;
  if (!ok) return res.status(403).send(page("Forbidden", "<p>cross-site request</p>"));
  state.beta++;
  res.send(page("Beta", `<p>${state.beta} beta sign-ups</p>`));
});

// Planted: any token the application ever issued passes, whoever it was
// issued to.
app.post("/vouchers/claim/", signedIn, (req, res) => {
  const t = req.get("x-csrf-token") || (req.body || {})._csrf;
  if (!t || !issued.has(t)) return res.status(403).send(page("Forbidden", "<p>invalid csrf token</p>"));
  state.vouchers++;
  res.send(page("Voucher", `<p>${state.vouchers} vouchers claimed</p>`));
});

// Planted: a naive double submit: the cookie and the field must match, and
// nothing ties either to the session.
app.post("/feedback/", signedIn, (req, res) => {
  const c = req.cookies.fb_csrf;
  const f = (req.body || {})._csrf;
  if (!c || !f || c !== f) return res.status(403).send(page("Forbidden", "<p>invalid csrf token</p>"));
  state.feedback++;
  res.send(page("Feedback", `<p>${state.feedback} messages</p>`));
});

// Planted: state-changing GETs.
app.get("/rewards/redeem/", signedIn, (req, res) => {
  if (state.points >= 10) state.points -= 10;
  res.send(page("Rewards", `<p>${state.points} points left</p>`));
});
app.get("/notes/:id/delete/", signedIn, (req, res) => {
  state.deleted++;
  state.notes = state.notes.filter((n) => String(n) !== req.params.id);
  res.send(page("Notes", `<p>${state.notes.length} notes</p>`));
});

app.use((err, req, res, next) => {
  if (err.code === "EBADCSRFTOKEN") return res.status(403).send(page("Forbidden", "<p>invalid csrf token</p>"));
  next(err);
});

app.listen(port, "127.0.0.1");
