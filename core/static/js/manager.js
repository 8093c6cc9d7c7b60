// The manager's unit page: "select all on this page" for the bulk form, the decision bar
// kept in view once something is ticked, and htmx swapping a 422 answer (a form with its
// errors beside the fields) like a 200 one.
function markSelection(form) {
  form.classList.toggle("has-selection", form.querySelector("input[type=checkbox][name=ids]:checked") !== null);
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
