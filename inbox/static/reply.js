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

  function render(others) {
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
  }

  function beat() {
    if (!box || !tokenField) { return; }
    fetch(box.getAttribute("data-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": tokenField.value },
      body: JSON.stringify({ composing: composing })
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { render(data.others); } })
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

  var interval = parseInt(box ? box.getAttribute("data-interval") : "10000", 10) || 10000;
  beat();
  window.setInterval(beat, interval);
})();
