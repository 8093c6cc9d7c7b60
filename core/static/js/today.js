// "Hôm nay": rows of the declare form added and removed in the page, the progress
// slider kept in step with its number box, and validation answers (422) swapped in
// like any other so each error shows beside its field. No inline script (CSP).
(function () {
  "use strict";
  let counter = 1000;
  // htmx "settles" a swapped element by copying its old style attribute back, which the
  // CSP (style-src 'self') refuses; nothing here animates, so settle classes only.
  if (window.htmx) window.htmx.config.attributesToSettle = ["class"];

  function rowsOf(form) { return form.querySelectorAll("#rows > li.row"); }

  // "Remove" shows only while there is another row to keep: on a lone row it did nothing.
  function syncRemove(form) {
    const lone = rowsOf(form).length < 2;
    form.querySelectorAll("#rows > li.row .remove-row").forEach(function (b) { b.hidden = lone; });
  }

  function reveal(root) {
    root.querySelectorAll(".add-row").forEach(function (b) { b.hidden = false; });
    const form = root.id === "declare-form" ? root : root.querySelector("#declare-form");
    if (form) syncRemove(form);
  }

  document.addEventListener("click", function (event) {
    const add = event.target.closest(".add-row");
    if (add) {
      const form = add.closest("form");
      const max = parseInt(form.dataset.maxRows || "50", 10);
      if (rowsOf(form).length >= max) return;
      const template = form.querySelector("#row-template");
      const html = template.innerHTML.replace(/__n__/g, String(counter++));
      form.querySelector("#rows").insertAdjacentHTML("beforeend", html);
      const row = form.querySelector("#rows > li.row:last-child");
      syncRemove(form);
      row.querySelector("select").focus();
      return;
    }
    const remove = event.target.closest(".remove-row");
    if (remove) {
      const form = remove.closest("form");
      if (rowsOf(form).length > 1) remove.closest("li.row").remove();
      syncRemove(form);
    }
  });

  document.addEventListener("input", function (event) {
    const el = event.target;
    if (el.classList.contains("slider")) {
      const box = document.getElementById(el.dataset.for);
      if (box) box.value = el.value;
    } else if (el.name === "progress") {
      const slider = el.parentElement.querySelector(".slider");
      if (slider) slider.value = el.value;
    }
  });

  // A 422 carries the form back with its errors: show it (htmx leaves 4xx unswapped).
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The answer to a declaration is read where it stands: the 12-hour question, the first
  // error or the "declared" line. Swapped in above a phone's viewport (the day's list
  // grows below the form while the reader sits at its button), it was off screen, and a
  // tap on "Khai báo" seemed to do nothing.
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "declare") return;
    const answer = target.querySelector(".confirm-box, .field-error, .flashes");
    if (!answer) return;
    const box = answer.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) answer.scrollIntoView({block: "center"});
    const confirm = target.querySelector("#confirm_long");
    if (confirm) confirm.focus({preventScroll: true});
  });

  document.addEventListener("htmx:load", function (event) { reveal(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
})();
