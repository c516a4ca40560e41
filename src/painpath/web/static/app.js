// PainPath: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  // Move keyboard and screen-reader focus to the page's main heading (or the error summary) on each step.
  function focusStep(root) {
    var target = (root || document).querySelector("[data-focus]");
    if (target && window.location.hash === "") {
      target.focus({ preventScroll: false });
    }
  }
  document.addEventListener("DOMContentLoaded", function () { focusStep(document); });
  document.addEventListener("htmx:afterSettle", function (e) { focusStep(e.target); });
  // Show a hint of what was chosen on the body map (the checkboxes stay the real control).
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.name === "region" && el.parentElement) {
      el.parentElement.classList.toggle("on", el.checked);
    }
  });
})();
