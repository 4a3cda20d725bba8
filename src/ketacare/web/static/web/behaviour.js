// What pages do in the browser, without inline script: the Content-Security-Policy
// (config/csp.py) runs script files from this site only, so there is no onclick="" in a template.
// An element asks for a behaviour with a data- attribute; the listeners sit on the document, so
// content that htmx swaps in later (the session page) behaves the same without being bound again.
(function () {
  "use strict";

  function closest(event, selector) {
    return event.target instanceof Element ? event.target.closest(selector) : null;
  }

  // <button type="button" data-print>: prints the page (the REMS monitoring record).
  document.addEventListener("click", function (event) {
    if (closest(event, "[data-print]")) { window.print(); }
  });

  // <select data-fill="what|minutes">: choosing the option "CADSS|40" puts CADSS in the form's
  // field named what and 40 in minutes (a scheduled rating recorded as not done).
  document.addEventListener("change", function (event) {
    var select = closest(event, "select[data-fill]");
    if (!select || !select.form) { return; }
    var values = select.value.split("|");
    select.dataset.fill.split("|").forEach(function (name, n) {
      var field = select.form.elements.namedItem(name);
      if (field) { field.value = values[n] === undefined ? "" : values[n]; }
    });
  });

  // <input readonly data-select-on-focus>: focusing selects the whole value, ready to copy.
  document.addEventListener("focusin", function (event) {
    var input = closest(event, "input[data-select-on-focus]");
    if (input) { input.select(); }
  });
})();
