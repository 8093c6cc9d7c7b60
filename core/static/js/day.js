// Day boxes (input[data-day]) are text read as dd/mm/yyyy whatever the browser's
// language; this adds a button beside each that opens the browser's own calendar on a
// hidden date input and writes the chosen day back as dd/mm/yyyy. Without JavaScript
// the box still takes a typed day (the server reads it).
(function () {
  "use strict";
  var label = (document.querySelector('meta[name="congvu-pick-day"]') || {}).content || "";

  function iso(text) {
    var m = /^\s*(\d{1,2})\s*[\/.\-]\s*(\d{1,2})\s*[\/.\-]\s*(\d{4})\s*$/.exec(text || "") ||
      /^\s*(\d{2})(\d{2})(\d{4})\s*$/.exec(text || "");
    if (m) {
      return m[3] + "-" + ("0" + m[2]).slice(-2) + "-" + ("0" + m[1]).slice(-2);
    }
    return /^\d{4}-\d{2}-\d{2}$/.test(text || "") ? text : "";
  }

  function shown(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    return m ? m[3] + "/" + m[2] + "/" + m[1] : "";
  }

  function enhance(box) {
    if (box.dataset.dayReady) {
      return;
    }
    box.dataset.dayReady = "1";
    var wrap = document.createElement("span");
    wrap.className = "day-box";
    box.parentNode.insertBefore(wrap, box);
    wrap.appendChild(box);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "day-pick";
    button.setAttribute("aria-label", label);
    button.title = label;
    button.innerHTML = '<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">' +
      '<rect x="1.5" y="3" width="13" height="11.5" rx="1.5" fill="none" stroke="currentColor"/>' +
      '<path d="M1.5 6.5h13M5 1.5v3M11 1.5v3" stroke="currentColor"/></svg>';
    var native = document.createElement("input");
    native.type = "date";
    native.tabIndex = -1;
    native.className = "day-native";
    native.setAttribute("aria-hidden", "true");
    wrap.appendChild(button);
    wrap.appendChild(native);
    button.addEventListener("click", function () {
      native.value = iso(box.value);
      if (box.dataset.min) {
        native.min = box.dataset.min;
      }
      if (typeof native.showPicker === "function") {
        try {
          native.showPicker();
          return;
        } catch (e) { /* not allowed here: fall back to focusing the box */ }
      }
      box.focus();
    });
    native.addEventListener("change", function () {
      if (native.value) {
        box.value = shown(native.value);
        box.dispatchEvent(new Event("input", {bubbles: true}));
        box.dispatchEvent(new Event("change", {bubbles: true}));
      }
    });
    // 06122026 typed on a number pad reads as 06/12/2026 once the box is left.
    box.addEventListener("blur", function () {
      var day = iso(box.value);
      if (day && !/^\d{4}-/.test(box.value.trim())) {
        box.value = shown(day);
      }
    });
  }

  function scan(root) {
    if (root.matches && root.matches("input[data-day]")) {
      enhance(root);
    }
    if (root.querySelectorAll) {
      root.querySelectorAll("input[data-day]").forEach(enhance);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    scan(document);
    // Boxes added later — an htmx swap, a declare row from its template — get theirs too.
    new MutationObserver(function (changes) {
      changes.forEach(function (change) { change.addedNodes.forEach(scan); });
    }).observe(document.body, {childList: true, subtree: true});
  });
}());
