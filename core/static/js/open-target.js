// A link to a folded item (#explain-ID on the month page, from "what counts this month"
// or from another month) opens it: a <details> the browser scrolls to stays closed, and
// the reader would see a title and not the factors the link promised.
(function () {
  "use strict";
  function openTarget() {
    var id = decodeURIComponent((location.hash || "").slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      target.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openTarget);
  document.addEventListener("DOMContentLoaded", openTarget);
})();
