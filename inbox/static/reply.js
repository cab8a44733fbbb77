// Reply panel: presence heartbeats (who is viewing or writing a reply) and inserting templates.
// The page works without this file: templates then insert through ?template=<id>.
(function () {
  "use strict";
  var panel = document.querySelector("[data-reply-panel]");
  if (!panel) { return; }
  var box = panel.querySelector("[data-presence]");
  var body = panel.querySelector("#reply-body");
  var tokenField = panel.querySelector("input[name=csrf_token]") ||
    document.querySelector("input[name=csrf_token]");
  var composing = panel.getAttribute("data-composing") === "1";
  var touched = false;  // until the writer clicks into the text, templates go at the top

  function render(others, drafts) {
    if (!box) { return; }
    var list = box.querySelector("ul");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    others.forEach(function (p) {
      var li = document.createElement("li");
      li.className = p.composing ? "composing" : "viewing";
      var who = document.createElement("strong");
      who.textContent = p.name;
      li.appendChild(who);
      li.appendChild(document.createTextNode(
        box.getAttribute(p.composing ? "data-composing-label" : "data-viewing-label")));
      list.appendChild(li);
    });
    (drafts || []).forEach(function (name) {
      var li = document.createElement("li");
      li.className = "draft";
      li.setAttribute("data-testid", "draft-by");
      li.appendChild(document.createTextNode(box.getAttribute("data-draft-label") + " "));
      var who = document.createElement("strong");
      who.textContent = name;
      li.appendChild(who);
      list.appendChild(li);
    });
  }

  function beat() {
    if (!box || !tokenField) { return; }
    fetch(box.getAttribute("data-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": tokenField.value },
      body: JSON.stringify({ composing: composing })
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { render(data.others, data.drafts); } })
      .catch(function () { /* offline for a moment: the next beat tries again */ });
  }

  function startComposing() {
    if (!composing) { composing = true; beat(); }
  }

  if (body) {
    body.addEventListener("focus", function () { touched = true; startComposing(); });
    body.addEventListener("input", startComposing);
  }

  var picker = panel.querySelector("[data-template-form]");
  if (picker && body) {
    picker.addEventListener("submit", function (event) {
      event.preventDefault();
      var option = picker.querySelector("[data-template-select]").selectedOptions[0];
      if (!option) { return; }
      var text = option.getAttribute("data-body") || "";
      var signature = (body.getAttribute("data-signature") || "").trim();
      if (option.hasAttribute("data-signed") && signature && body.value.indexOf(signature) >= 0) {
        body.value = body.value.replace(signature, "").replace(/^\n+/, "\n\n");  // the template brings it
        touched = false;
      }
      var at = touched ? body.selectionStart : 0;
      var end = touched ? body.selectionEnd : 0;
      body.value = body.value.slice(0, at) + text + body.value.slice(end);
      body.focus();
      body.setSelectionRange(at + text.length, at + text.length);
      startComposing();
    });
  }

  // Draft autosave: a second after the last keystroke the composer's fields go to the server,
  // which keeps them for this user and thread (restored on reload or on another machine).
  var form = panel.querySelector("[data-composer]");
  var draftStatus = panel.querySelector("[data-draft-status]");
  var draftTimer = null;
  var sending = false;

  function draftFields() {
    var out = {};
    ["to", "cc", "bcc", "subject", "body"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) { out[name] = field.value; }
    });
    return out;
  }

  function saveDraft() {
    draftTimer = null;
    if (sending || !tokenField) { return; }
    fetch(form.getAttribute("data-draft-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": tokenField.value },
      body: JSON.stringify(draftFields())
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!draftStatus || sending) { return; }
        var label = !data ? "data-failed-label" : (data.saved ? "data-saved-label" : "data-dropped-label");
        draftStatus.textContent = draftStatus.getAttribute(label);
      })
      .catch(function () { /* offline for a moment: the next keystroke tries again */ });
  }

  if (form && form.hasAttribute("data-draft-url")) {
    form.addEventListener("input", function () {
      if (draftTimer) { window.clearTimeout(draftTimer); }
      draftTimer = window.setTimeout(saveDraft, 1000);
    });
    form.addEventListener("submit", function () {
      sending = true;
      if (draftTimer) { window.clearTimeout(draftTimer); draftTimer = null; }
    });
  }

  var interval = parseInt(box ? box.getAttribute("data-interval") : "10000", 10) || 10000;
  beat();
  window.setInterval(beat, interval);
})();
