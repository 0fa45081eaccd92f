// An Express 5 application with express-session and csrf-csrf (the
// double-submit package that replaced csurf), unchanged behind the
// forgeproof gateway in tests. csrf-csrf guards every POST but the exempt
// webhook; "trust proxy" makes Express see the gateway's public scheme and
// host, as Express's behind-proxies guide recommends. GET /state is read by
// the tests only (directly, not through the gateway).
// Run: node server.js PORT
"use strict";
const express = require("express");
const session = require("express-session");
const cookieParser = require("cookie-parser");
const { doubleCsrf } = require("csrf-csrf");

const app = express();
app.set("trust proxy", "loopback");
const state = { notes: [], likes: 0, hooks: 0, resets: 0, logins: 0 };

app.use(express.json());
app.use(express.urlencoded({ extended: false }));
app.use(session({
  secret: "test-only-secret",
  resave: false,
  // Sessions are saved once a page made a CSRF token for them (below),
  // not for every request: a request that still carries a destroyed
  // session's cookie (such as the favicon's, racing a login) gets no new one.
  saveUninitialized: false,
  cookie: { secure: "auto", sameSite: "lax", httpOnly: true },
}));
app.use(cookieParser());
const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
  getSecret: () => "test-only-csrf-secret",
  getSessionIdentifier: (req) => req.session.id,
  getCsrfTokenFromRequest: (req) => req.headers["x-csrf-token"] || (req.body && req.body._csrf),
});

// The exempt webhook, before the CSRF middleware.
app.post("/hook", (req, res) => {
  state.hooks++;
  res.json({ ok: true });
});
app.get("/state", (req, res) => res.json(state));
app.use(doubleCsrfProtection);

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function page(req, res) {
  req.session.visited = true; // csrf-csrf binds its token to this session
  const user = req.session.user;
  const tok = esc(generateCsrfToken(req, res));
  const body = !user
    ? `<form method="post" action="/login" id="login"><input type="hidden" name="_csrf" value="${tok}">
<input name="user" value="alice"><button id="signin">Sign in</button></form>`
    : `<form method="post" action="/notes"><input type="hidden" name="_csrf" value="${tok}">
<input name="text" id="text" value="hello"><button id="post">Post</button></form>
<button id="like" onclick="like()">Like</button>
<a href="/admin" id="admin">Admin</a>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${tok}"><button id="signout">Sign out</button></form>`;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Express notes</title><meta name="csrf-token" content="${tok}"></head>
<body>
<p id="user">${user ? esc(user) : "signed out"}</p>
${body}
<p id="likes"></p>
<script>
async function like() {
  const r = await fetch("/api/like", {method: "POST",
    headers: {"Content-Type": "application/json", "x-csrf-token": document.querySelector('meta[name="csrf-token"]').content},
    body: JSON.stringify({n: 1})});
  document.getElementById("likes").textContent = r.status + " " + (await r.text());
}
</script>
</body></html>`;
}

function signedIn(req, res, next) {
  if (!req.session.user) return res.status(401).json({ error: "sign in first" });
  next();
}

app.get("/", (req, res) => res.type("html").send(page(req, res)));

app.post("/login", (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = String(req.body.user || "alice");
    state.logins++;
    // As express-session's README does: save before redirecting, or the
    // browser may follow the redirect before the session is stored and be
    // handed a new, anonymous one.
    req.session.save((err) => {
      if (err) return next(err);
      res.redirect(303, "/");
    });
  });
});

app.post("/logout", (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.save((err) => {
      if (err) return next(err);
      res.redirect(303, "/");
    });
  });
});

app.post("/notes", signedIn, (req, res) => {
  state.notes.push({ user: req.session.user, text: String(req.body.text || "") });
  res.redirect(303, "/");
});

app.post("/api/like", signedIn, (req, res) => {
  state.likes++;
  res.json({ likes: state.likes });
});

app.get("/admin", (req, res) => {
  if (!req.session.user) return res.redirect(303, "/");
  const tok = esc(generateCsrfToken(req, res));
  res.type("html").send(`<!DOCTYPE html>
<html><head><title>Admin</title></head><body>
<form method="post" action="/admin/reset"><input type="hidden" name="_csrf" value="${tok}"><button id="reset">Reset likes</button></form>
</body></html>`);
});

app.post("/admin/reset", signedIn, (req, res) => {
  state.likes = 0;
  state.resets++;
  res.redirect(303, "/");
});

// A state-changing GET, declared unsafe in the gateway's configuration.
app.get("/notes/:n/delete", (req, res) => {
  const n = Number(req.params.n);
  if (req.session.user && n >= 0 && n < state.notes.length) state.notes.splice(n, 1);
  res.redirect(303, "/");
});

app.use((err, req, res, next) => {
  res.status(err.code === "EBADCSRFTOKEN" ? 403 : 500).json({ error: String(err.message || err) });
});

app.listen(Number(process.argv[2]), "127.0.0.1");
