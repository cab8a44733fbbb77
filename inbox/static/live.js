// Live pages: conditional polling of the page's own URL (see inbox/web/live.py).
// Every few seconds: GET with If-None-Match; 304 means nothing changed. On a change the
// server renders the page; only the parts marked data-live are swapped, and never one the
// user is working in (a focused field, a half-chosen select). The reply and note
// composers are outside every such part, so what the user types is never touched.
// Queue rows: when the same threads stay in the same order, rows are updated in place
// (ticked boxes kept); when threads come, go or move while the pointer or a ticked box is
// on the list, a "new activity" button appears instead of rows jumping under the pointer.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-root]");
  if (!root || !window.fetch || !window.DOMParser) { return; }
  var etag = root.getAttribute("data-etag");
  var interval = parseInt(root.getAttribute("data-interval"), 10) || 3000;
  var busy = false;
  var stopped = false;
  var pendingRows = null;
  var rows = document.querySelector("[data-live=rows]");
  var table = rows ? rows.closest("table") : null;
  var hint = document.querySelector("[data-live-hint]");
  var hintButton = hint ? hint.querySelector("button") : null;
  var pointerOnList = false;

  if (table) {
    table.addEventListener("mouseenter", function () { pointerOnList = true; });
    table.addEventListener("mouseleave", function () { pointerOnList = false; });
  }

  function changedByUser(field) {
    if (field.type === "hidden") { return false; }
    if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
    if (field.tagName === "SELECT") {  // with no option marked selected, the first is the default
      var marked = Array.prototype.some.call(field.options, function (o) { return o.defaultSelected; });
      return Array.prototype.some.call(field.options, function (o, i) {
        return o.selected !== (marked ? o.defaultSelected : i === 0);
      });
    }
    return field.value !== field.defaultValue;
  }

  // The user is working in ``el``: a field in it has focus, or holds a value they changed.
  function editing(el) {
    var active = document.activeElement;
    if (active && active !== document.body && el.contains(active) &&
        /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(active.tagName)) { return true; }
    return Array.prototype.some.call(el.querySelectorAll("input, select, textarea"), function (field) {
      return field.name !== "thread" && changedByUser(field);
    });
  }

  function rowIds(tbody) {
    return Array.prototype.map.call(tbody.querySelectorAll("tr[data-thread-id]"), function (tr) {
      return tr.getAttribute("data-thread-id");
    }).join(",");
  }

  function ticked() {
    var set = {};
    Array.prototype.forEach.call(rows.querySelectorAll("input[type=checkbox]:checked"), function (box) {
      set[box.value] = true;
    });
    return set;
  }

  function retick(set) {
    Array.prototype.forEach.call(rows.querySelectorAll("input[type=checkbox]"), function (box) {
      if (set[box.value]) { box.checked = true; }
    });
  }

  function swapRows(fresh) {
    var keep = ticked();
    rows.innerHTML = fresh.innerHTML;
    retick(keep);
    pendingRows = null;
    if (hintButton) { hintButton.hidden = true; }
  }

  function updateRows(fresh) {
    if (rowIds(fresh) === rowIds(rows)) {  // same threads, same order: update in place
      var keep = ticked();
      Array.prototype.forEach.call(fresh.querySelectorAll("tr[data-thread-id]"), function (tr) {
        var old = rows.querySelector("tr[data-thread-id='" + tr.getAttribute("data-thread-id") + "']");
        if (old && old.innerHTML !== tr.innerHTML && !editing(old)) { old.innerHTML = tr.innerHTML; }
      });
      retick(keep);
      return;
    }
    var busyHere = pointerOnList || editing(rows) || Object.keys(ticked()).length > 0;
    if (busyHere && hintButton) {
      pendingRows = fresh;
      hintButton.hidden = false;
    } else {
      swapRows(fresh);
    }
  }

  function updateKeyed(el, fresh) {  // children with ids: replace changed ones, append new ones
    Array.prototype.forEach.call(fresh.children, function (child) {
      var old = child.id ? document.getElementById(child.id) : null;
      if (!old) {
        el.appendChild(document.importNode(child, true));
      } else if (old.outerHTML !== child.outerHTML && !editing(old)) {
        old.replaceWith(document.importNode(child, true));
      }
    });
  }

  // Forms carry a fresh CSRF token on every render: compare parts without them.
  function comparable(html) { return html.replace(/name="csrf_token" value="[^"]*"/g, ""); }

  function apply(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    if (!doc.querySelector("[data-live-root]")) { return false; }  // e.g. the login page
    var complete = true;
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (el) {
      var fresh = doc.querySelector("[data-live='" + el.getAttribute("data-live") + "']");
      if (!fresh || comparable(fresh.innerHTML) === comparable(el.innerHTML)) { return; }
      if (el === rows) { updateRows(fresh); return; }
      if (el.hasAttribute("data-live-keyed")) { updateKeyed(el, fresh); return; }
      if (editing(el)) { complete = false; return; }  // try again on the next poll
      el.innerHTML = fresh.innerHTML;
    });
    return complete;
  }

  function poll() {
    if (busy || stopped) { return; }
    busy = true;
    fetch(window.location.href, {
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",  // logged out (a redirect to the log-in page): stop polling
      headers: { "X-Inbox-Live": "1", "If-None-Match": "\"" + etag + "\"" }
    }).then(function (response) {
      if (response.status === 304) { return null; }
      if (response.type === "opaqueredirect") { stopped = true; return null; }
      if (!response.ok) { if (response.status === 404 || response.status === 403) { stopped = true; } return null; }
      var tag = (response.headers.get("ETag") || "").replace(/^W\//, "").replace(/"/g, "");
      return response.text().then(function (html) {
        if (apply(html) && tag) { etag = tag; }
      });
    }).catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { busy = false; });
  }

  if (hintButton) {
    hintButton.addEventListener("click", function () {
      if (pendingRows) { swapRows(pendingRows); }
    });
  }
  window.setInterval(poll, interval);
})();
