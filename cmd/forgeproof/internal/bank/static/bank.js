// The demo bank's page script: sends the fetch-based transfer as JSON, and
// walks the user through the password confirmation of a large transfer.
//
// When the page was rendered with a token (library mode), the script sends
// it in the header named by <meta name="csrf-header">; behind the gateway,
// /.forgeproof/csrf.js adds the header to same-origin fetch calls itself.
"use strict";
(function () {
  const form = document.getElementById("json-transfer");
  if (!form) return;
  const out = document.getElementById("json-result");
  const confirmBox = document.getElementById("confirm");
  const confirmForm = document.getElementById("confirm-form");
  const largePath = "/api/transfer/large";

  function headers(extra) {
    const token = document.querySelector('meta[name="csrf-token"]');
    const header = document.querySelector('meta[name="csrf-header"]');
    const h = { "Content-Type": "application/json" };
    if (token && header) h[header.content] = token.content;
    return Object.assign(h, extra || {});
  }

  async function postJSON(path, body, extra) {
    const res = await fetch(path, { method: "POST", headers: headers(extra), body: JSON.stringify(body) });
    let data = {};
    try { data = await res.json(); } catch (_) { /* no JSON body */ }
    return { res: res, data: data };
  }

  function show(text, ok) {
    out.textContent = text;
    out.className = "result " + (ok ? "ok" : "error");
  }

  function refusal(data, res) {
    // forgeproof answers with problem+json naming a reason.
    if (data.reason) return "Refused: " + data.title + " (" + data.reason + ")";
    return "Refused: " + (data.error || res.statusText);
  }

  // askPassword shows the confirmation box and resolves with the password,
  // or with "" when the user cancels.
  function askPassword(transfer) {
    document.getElementById("confirm-amount").textContent = transfer.amount;
    document.getElementById("confirm-to").textContent = transfer.to;
    confirmBox.hidden = false;
    confirmForm.password.value = "";
    confirmForm.password.focus();
    return new Promise(function (resolve) {
      function done(value) {
        confirmBox.hidden = true;
        confirmForm.removeEventListener("submit", onSubmit);
        document.getElementById("confirm-cancel").removeEventListener("click", onCancel);
        resolve(value);
      }
      function onSubmit(ev) { ev.preventDefault(); done(confirmForm.password.value); }
      function onCancel() { done(""); }
      confirmForm.addEventListener("submit", onSubmit);
      document.getElementById("confirm-cancel").addEventListener("click", onCancel);
    });
  }

  function isLarge(amount) {
    const limit = parseFloat(form.dataset.large || "0");
    return limit > 0 && parseFloat(amount) >= limit;
  }

  async function transfer(t) {
    let path = isLarge(t.amount) ? largePath : "/api/transfer";
    let r = await postJSON(path, t);
    if (r.res.status === 422 && r.data.step_up) {
      path = r.data.step_up;
      r = await postJSON(path, t);
    }
    if (r.res.status === 401 && (r.data.reason === "reauth-required" || r.data.reason === "reauth-reused")) {
      const password = await askPassword(t);
      if (!password) return { cancelled: true };
      const c = await postJSON(r.data.reauth_url || "/api/reauth", { password: password, method: "POST", path: path });
      if (!c.res.ok || !c.data.proof) return c;
      const header = c.data.header || r.data.reauth_header || form.dataset.reauthHeader || "X-Reauth-Proof";
      r = await postJSON(path, t, { [header]: c.data.proof });
    }
    return r;
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const t = { to: form.to.value, amount: form.amount.value.trim() };
    let r;
    try {
      r = await transfer(t);
    } catch (err) {
      show("Network error: " + err.message, false);
      return;
    }
    if (r.cancelled) {
      show("Transfer cancelled.", false);
      return;
    }
    if (!r.res.ok) {
      show(refusal(r.data, r.res), false);
      return;
    }
    const d = r.data;
    show("Sent $" + d.amount + " to " + d.to + " (transfer #" + d.id + ").", true);
    document.getElementById("balance").textContent = d.balance;
    addRow(d);
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
