// The cashier screen (a file, not an inline script: the page's CSP forbids those).
// A barcode scanner types into the focused field and presses Enter, which submits its form;
// after each page the scanner field takes the focus again. A button marked data-once is
// disabled once its form is sent (the server posts a form's key once anyway). data-print prints.
(function () {
  "use strict";
  var scanner = document.querySelector("[data-scanner]");
  if (scanner && !document.querySelector(".is-invalid:not([data-scanner])")) {
    scanner.focus();
    scanner.select();
  }
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.hasAttribute("data-once")) {
        return;
      }
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      if (button.name) {
        // A disabled button is not sent: keep its value in the form.
        var kept = document.createElement("input");
        kept.type = "hidden";
        kept.name = button.name;
        kept.value = button.value;
        form.appendChild(kept);
      }
      window.setTimeout(function () {
        button.disabled = true;
      }, 0);
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
