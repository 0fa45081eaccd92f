// The demo bank's page script: sends the fetch-based transfer as JSON.
// When the page was rendered with a token (library mode), it sends the token
// in the header named by <meta name="csrf-header">; behind the gateway,
// /.forgeproof/csrf.js adds the header to same-origin fetch calls itself.
"use strict";
(function () {
  const form = document.getElementById("json-transfer");
  if (!form) return;
  const out = document.getElementById("json-result");

  function tokenHeaders() {
    const token = document.querySelector('meta[name="csrf-token"]');
    const header = document.querySelector('meta[name="csrf-header"]');
    const h = { "Content-Type": "application/json" };
    if (token && header) h[header.content] = token.content;
    return h;
  }

  function show(text, ok) {
    out.textContent = text;
    out.className = "result " + (ok ? "ok" : "error");
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const body = JSON.stringify({ to: form.to.value, amount: form.amount.value.trim() });
    let res;
    try {
      res = await fetch("/api/transfer", { method: "POST", headers: tokenHeaders(), body: body });
    } catch (err) {
      show("Network error: " + err.message, false);
      return;
    }
    let data = {};
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      // forgeproof answers with problem+json naming a reason.
      const why = data.reason ? data.title + " (" + data.reason + ")" : (data.error || res.statusText);
      show("Refused: " + why, false);
      return;
    }
    show("Sent $" + data.amount + " to " + data.to + " (transfer #" + data.id + ").", true);
    document.getElementById("balance").textContent = data.balance;
    addRow(data);
    form.amount.value = "";
  });

  function addRow(t) {
    const body = document.querySelector("#activity tbody");
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    const tr = document.createElement("tr");
    tr.className = "out";
    const cells = [String(t.id), new Date().toTimeString().slice(0, 8), "to", t.to, "json", "\u2212$" + t.amount];
    cells.forEach(function (text, i) {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === cells.length - 1) td.className = "num";
      tr.appendChild(td);
    });
    body.insertBefore(tr, body.firstChild);
  }
})();
