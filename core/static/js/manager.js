// The manager's unit page: "select all on this page" for the bulk form, and htmx swapping
// a 422 answer (a form with its errors beside the fields) like a 200 one.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  const form = box.closest("form");
  if (!form) return;
  form.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`).forEach((each) => {
    each.checked = box.checked;
  });
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
