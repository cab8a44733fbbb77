// Image previews in a thread: a click on a thumbnail shows the larger re-encoded image in a
// dialog (Escape or a click closes it); a preview the server refused is hidden.
(function () {
  "use strict";
  function enlarge(link) {
    var dialog = document.createElement("dialog");
    dialog.className = "enlarged";
    dialog.setAttribute("data-testid", "enlarged");
    var img = document.createElement("img");
    img.src = link.href;
    img.alt = (link.querySelector("img") || {}).alt || "";
    dialog.appendChild(img);
    dialog.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { dialog.remove(); });
    document.body.appendChild(dialog);
    dialog.showModal();
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-enlarge]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    enlarge(link);
  });
  function hideBroken(img) {
    var link = img.closest("a[data-enlarge]");
    if (link) { link.classList.add("broken"); }
  }
  document.querySelectorAll("a[data-enlarge] img").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) { hideBroken(img); }
    img.addEventListener("error", function () { hideBroken(img); });
  });
})();
