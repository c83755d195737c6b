// Keyhouse console: the "Copy" button next to a secret shown once. Without
// JavaScript the button stays hidden and the field can be selected by hand.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function (text) { button.textContent = text; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(
          function () { done("Copied"); },
          function () { field.select(); done("Press Ctrl+C"); }
        );
      } else {
        field.select();
        done("Press Ctrl+C");
      }
    });
  });
})();
