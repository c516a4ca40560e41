// First-run set-up page: while the password is typed, says how many more characters the rule needs, and marks
// "Password again" as not matching before the form is sent. The server checks both again.
(function () {
  "use strict";
  var form = document.getElementById("setup-form");
  if (!form) return;
  var pw = document.getElementById("password");
  var again = document.getElementById("password_again");
  var count = document.getElementById("password-count");
  var min = parseInt(pw.getAttribute("minlength"), 10) || 0;
  function update() {
    var missing = min - pw.value.length;
    if (pw.value.length === 0) count.textContent = "";
    else if (missing > 0) count.textContent = count.dataset.template.replace("{n}", String(missing));
    else count.textContent = count.dataset.ok;
    again.setCustomValidity(again.value && again.value !== pw.value ? form.dataset.mismatch : "");
  }
  pw.addEventListener("input", update);
  again.addEventListener("input", update);
})();
