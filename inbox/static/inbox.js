// Small progressive enhancements; every page works without this file.
// On a phone, panels marked <details class="fold" open> (the queue's views and filters) start
// folded; without this file they stay open and the page still fits.
document.addEventListener("DOMContentLoaded", () => {
  if (window.matchMedia("(max-width: 760px)").matches) {
    for (const fold of document.querySelectorAll("details.fold[open]")) fold.open = false;
  }
});
