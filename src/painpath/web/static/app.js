// PainPath: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  // Move keyboard and screen-reader focus to the page's main heading (or the error summary) on each step.
  // The heading has tabindex=-1 and no focus ring (app.css), so nothing flashes on load.
  function focusStep(root) {
    var target = (root || document).querySelector("[data-focus]");
    if (target && window.location.hash === "") {
      target.focus({ preventScroll: true });
    }
  }
  document.addEventListener("DOMContentLoaded", function () { focusStep(document); });
  document.addEventListener("htmx:afterSettle", function (e) { focusStep(e.target); });
  // Body map: tapping a place on the drawing ticks (or unticks) its checkbox in the list, the real control.
  function paint(key, on) {
    var shapes = document.querySelectorAll('.rg[data-region="' + key + '"]');
    for (var i = 0; i < shapes.length; i++) { shapes[i].classList.toggle("on", on); }
  }
  document.addEventListener("click", function (e) {
    var el = e.target;
    if (!el || !el.getAttribute || !el.classList.contains("rg")) { return; }
    var box = document.getElementById("r-" + el.getAttribute("data-region"));
    if (box) {
      box.checked = !box.checked;
      paint(box.value, box.checked);
    }
  });
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.name === "region") { paint(el.value, el.checked); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll('input[name="region"]');
    for (var i = 0; i < boxes.length; i++) { paint(boxes[i].value, boxes[i].checked); }
  });
})();
