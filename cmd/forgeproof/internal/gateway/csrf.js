// forgeproof csrf.js: adds the anti-CSRF token to this page's same-origin
// requests that change state. The token lives in this page's memory only:
// never in web storage or a cookie that scripts can read. Served by the
// forgeproof gateway.
(function () {
  "use strict";
  if (window.forgeproof) return;
  var cfg = /*CONFIG*/{"endpoint": "/.forgeproof/token", "oneTime": "/.forgeproof/one-time-token", "header": "X-Forgeproof-Token", "field": "forgeproof_token", "rotated": "X-Forgeproof-Token"}/*END*/;
  var token = null;
  var pending = null;
  var origFetch = window.fetch;

  var meta = document.querySelector('meta[name="forgeproof-token"]');
  if (meta && meta.content) token = meta.content;

  // load asks the gateway for a fresh token.
  function load() {
    if (!pending) {
      pending = origFetch.call(window, cfg.endpoint, {
        credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
      }).then(function (r) {
        if (!r.ok) throw new Error("forgeproof: token endpoint answered " + r.status);
        return r.json();
      }).then(function (j) {
        pending = null;
        token = j.token;
        if (j.header) cfg.header = j.header;
        if (j.field) cfg.field = j.field;
        return token;
      }, function (e) {
        pending = null;
        throw e;
      });
    }
    return pending;
  }

  function ready() { return token ? Promise.resolve(token) : load(); }

  function unsafe(m) {
    m = String(m || "GET").toUpperCase();
    return m !== "GET" && m !== "HEAD" && m !== "OPTIONS" && m !== "TRACE";
  }

  function sameOrigin(u) {
    try { return new URL(u, document.baseURI).origin === location.origin; } catch (e) { return false; }
  }

  // pickUp takes a token rotated by the gateway (after login or logout).
  function pickUp(get) {
    var t = get(cfg.rotated);
    if (t) token = t;
  }

  if (origFetch) {
    window.fetch = function (input, init) {
      var isReq = typeof Request !== "undefined" && input instanceof Request;
      var url = isReq ? input.url : String(input);
      if (!sameOrigin(url)) return origFetch.apply(window, arguments);
      var method = (init && init.method) || (isReq ? input.method : "GET");
      var after = function (resp) {
        pickUp(function (n) { return resp.headers.get(n); });
        return resp;
      };
      if (!unsafe(method)) return origFetch.apply(window, arguments).then(after);
      return ready().then(function (t) {
        var h = new Headers((init && init.headers) || (isReq ? input.headers : undefined));
        if (!h.has(cfg.header)) h.set(cfg.header, t); // a one-time token set by the page wins
        return origFetch.call(window, input, Object.assign({}, init, { headers: h }));
      }, function () {
        return origFetch.call(window, input, init);
      }).then(after);
    };
  }

  var X = window.XMLHttpRequest && window.XMLHttpRequest.prototype;
  if (X) {
    var open = X.open, send = X.send, setHeader = X.setRequestHeader;
    X.setRequestHeader = function (name) {
      if (this.__forgeproof && String(name).toLowerCase() === cfg.header.toLowerCase()) this.__forgeproof.own = true;
      return setHeader.apply(this, arguments);
    };
    X.open = function (method, url, async) {
      this.__forgeproof = { method: method, url: String(url), async: arguments.length < 3 || !!async };
      return open.apply(this, arguments);
    };
    X.send = function (body) {
      var xhr = this, st = xhr.__forgeproof;
      if (!st || !sameOrigin(st.url)) return send.apply(xhr, arguments);
      xhr.addEventListener("readystatechange", function () {
        if (xhr.readyState === 2) pickUp(function (n) { return xhr.getResponseHeader(n); });
      });
      if (!unsafe(st.method) || st.own) return send.apply(xhr, arguments);
      if (token || !st.async) {
        if (token) setHeader.call(xhr, cfg.header, token);
        return send.call(xhr, body);
      }
      ready().then(function (t) { setHeader.call(xhr, cfg.header, t); }, function () {})
        .then(function () { send.call(xhr, body); });
    };
  }

  function setField(form, t) {
    var els = form.elements;
    for (var i = 0; i < els.length; i++) {
      if (els[i].name === cfg.field && els[i].type === "hidden") { els[i].value = t; return; }
    }
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = cfg.field;
    input.value = t;
    form.appendChild(input);
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    var sub = ev.submitter || null;
    var method = (sub && sub.getAttribute("formmethod")) || form.getAttribute("method") || "get";
    if (method.toLowerCase() !== "post") return;
    var action = (sub && sub.getAttribute("formaction")) || form.getAttribute("action") || "";
    if (!sameOrigin(action)) return;
    if (token) { setField(form, token); return; }
    if (form.__forgeproofRetry) return;
    form.__forgeproofRetry = true;
    ev.preventDefault();
    ready().then(function (t) { setField(form, t); }, function () {}).then(function () {
      if (form.requestSubmit) form.requestSubmit(sub || undefined); else form.submit();
      form.__forgeproofRetry = false;
    });
  }, true);

  // oneTimeToken asks the gateway for a token that a route with one-time
  // tokens accepts once; send it in the header named cfg.header.
  function oneTimeToken() {
    return origFetch.call(window, cfg.oneTime, {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
    }).then(function (r) {
      if (!r.ok) throw new Error("forgeproof: one-time token endpoint answered " + r.status);
      return r.json();
    }).then(function (j) { return j.token; });
  }

  // forgeproof.token() resolves to the current token, for requests the
  // script cannot see (such as a WebSocket's first message);
  // forgeproof.oneTimeToken() to a fresh one-time token.
  window.forgeproof = { token: ready, oneTimeToken: oneTimeToken };
})();
