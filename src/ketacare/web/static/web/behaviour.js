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

  // The session page's live refresh ([data-live-session], sessions/_session.html) replaces the
  // page when another clinician changes the record, but never under a clinician's hands: once a
  // form on the page has been typed in, the new content is not swapped in, and the page says that
  // the record changed, so the entry can be saved (its answer brings the new record) first.
  document.addEventListener("input", function (event) {
    var form = closest(event, "#session form");
    if (form) { form.dataset.dirty = "1"; }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail && event.detail.requestConfig;
    var elt = config && config.elt;
    if (!(elt instanceof Element) || !elt.hasAttribute("data-live-session")) { return; }
    if (!document.querySelector("#session form[data-dirty]")) { return; }
    event.detail.shouldSwap = false;
    elt.remove();  // no further polls: the change is known, and each answer would be another read
    var notice = document.getElementById("session-live-notice");
    if (notice && !notice.querySelector("[data-changed]")) {
      var p = document.createElement("p");
      p.className = "notice warning";
      p.setAttribute("data-changed", "");
      p.textContent = "Another clinician has changed this record. What you are typing is kept: save it " +
        "to see the change, or reload the page (your entry will be lost).";
      notice.appendChild(p);
    }
  });

  // A link to a heading inside a folded section (the outcome dashboard's contents bar) opens
  // the section, so that the link always shows what it names.
  function openFor(hash) {
    var target = hash && hash.length > 1 ? document.getElementById(hash.slice(1)) : null;
    var fold = target ? target.closest("details") : null;
    if (fold) { fold.open = true; }
  }
  document.addEventListener("click", function (event) {
    var link = closest(event, "a[href^='#']");
    if (link) { openFor(link.getAttribute("href")); }
  });
  window.addEventListener("hashchange", function () { openFor(window.location.hash); });
  openFor(window.location.hash);

  // <button type="button" data-answer-rest="no">: in its form, every yes/no question with no
  // answer ticked gets the given answer (the history checklist's "none of the rest"); questions
  // already answered are left as they are, and nothing is saved until the form is sent.
  document.addEventListener("click", function (event) {
    var button = closest(event, "button[data-answer-rest]");
    if (!button || !button.form) { return; }
    var value = button.dataset.answerRest;
    button.form.querySelectorAll("[role=radiogroup]").forEach(function (group) {
      if (group.querySelector("input[type=radio]:checked")) { return; }
      var choice = group.querySelector("input[type=radio][value='" + value + "']");
      if (choice) { choice.checked = true; }
    });
  });

  // <button type="button" data-copy="#field">: copies the field's text (a self-report link) and
  // says so beside it ([data-copied]).
  document.addEventListener("click", function (event) {
    var button = closest(event, "button[data-copy]");
    if (!button) { return; }
    var field = document.querySelector(button.dataset.copy);
    if (!field) { return; }
    var said = button.parentElement ? button.parentElement.querySelector("[data-copied]") : null;
    function done() { if (said) { said.hidden = false; } }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
      if (document.execCommand("copy")) { done(); }
    }
  });
})();
