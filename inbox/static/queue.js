// Queue page: a "select all" checkbox for bulk changes. Without this file each row is ticked by hand.
document.addEventListener("DOMContentLoaded", () => {
  for (const all of document.querySelectorAll("input.select-all")) {
    const table = all.closest("table");
    const boxes = () => table.querySelectorAll("tbody input[type=checkbox][name=thread]");
    all.hidden = false;
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
    table.addEventListener("change", (event) => {
      if (event.target === all) return;
      const list = [...boxes()];
      all.checked = list.length > 0 && list.every((b) => b.checked);
    });
  }
});
