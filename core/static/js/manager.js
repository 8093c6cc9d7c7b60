// The manager's unit page: "select all on this page" for the bulk form, the decision bar
// kept in view once something is ticked, and htmx swapping a 422 answer (a form with its
// errors beside the fields) like a 200 one.
function markSelection(form) {
  const ticked = form.querySelectorAll("input[type=checkbox][name=ids]:checked").length;
  form.classList.toggle("has-selection", ticked > 0);
  // The bar kept in view says how many it will decide: on a phone the ticked rows are
  // often scrolled away.
  form.querySelectorAll("[data-selected-count]").forEach((count) => {
    count.textContent = String(ticked);
  });
}
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
  const form = box.closest("form");
  if (!form) return;
  if (box.dataset.selectAll) {
    form.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`).forEach((each) => {
      each.checked = box.checked;
    });
  }
  markSelection(form);
});
document.addEventListener("htmx:afterSwap", () => {
  document.querySelectorAll("form#bulk").forEach(markSelection);
});
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// The CSP forbids inline styles, so htmx must not copy a "style" attribute while it settles a swap.
if (window.htmx) {
  window.htmx.config.attributesToSettle = ["class", "width", "height"];
}
