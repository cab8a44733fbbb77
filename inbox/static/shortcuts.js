// Keyboard shortcuts (press ? for the list). Nothing fires while typing in a field, except
// Ctrl+Enter (or Cmd+Enter), which sends the reply being written. Every action is also a
// visible button or link: the keys only save the pointer trip.
(() => {
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  const rows = () => [...document.querySelectorAll("[data-testid=queue] tbody tr[data-thread-id], [data-testid=results] tbody tr[data-thread-id]")];
  let current = -1;

  function select(index) {
    const list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, index));
    list.forEach((row, i) => row.classList.toggle("kbd-current", i === current));
    list[current].setAttribute("tabindex", "-1");
    list[current].focus({ preventScroll: true });
    list[current].scrollIntoView({ block: "nearest" });
  }

  function open() {
    const row = rows()[current];
    const link = row && row.querySelector("a[href]");
    if (link) window.location.assign(link.href);
  }

  function click(selector) {
    const el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }

  function resolve() {
    const form = document.querySelector("[data-testid=status-form]");
    const select = form && form.querySelector("select[name=status]");
    if (!select || !select.querySelector("option[value=resolved]")) return;
    select.value = "resolved";
    form.requestSubmit();
  }

  function toggleHelp(show) {
    const help = document.getElementById("shortcut-help");
    if (!help) return;
    if (show === undefined) show = !help.open;
    if (show && !help.open) help.showModal();
    if (!show && help.open) help.close();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const form = event.target.closest && event.target.closest("form[data-composer]");
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const actions = {
      "j": () => select(current + 1),
      "k": () => select(current - 1),
      "o": open,
      "Enter": () => { if (current >= 0) open(); else return false; },
      "/": () => { const box = document.querySelector(".nav-search input, input.search-box"); if (box) box.focus(); },
      "a": () => click("[data-testid=assign-me]"),
      "r": () => { const body = document.getElementById("reply-body"); if (body) { body.focus(); body.scrollIntoView({ block: "center" }); } },
      "e": resolve,
      "?": () => toggleHelp(),
    };
    const action = actions[event.key];
    if (action && action() !== false) event.preventDefault();
  });
})();
