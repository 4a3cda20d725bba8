// Idle log-off: the server ends the session after the idle timeout; this takes the screen to the
// sign-in page at the same moment, so patient data does not stay on an unattended screen.
(function () {
  var body = document.body;
  var minutes = parseFloat(body.dataset.idleMinutes || "0");
  if (!minutes) { return; }
  var timer;
  function reset() {
    clearTimeout(timer);
    timer = setTimeout(function () { window.location.assign(body.dataset.loginUrl); }, minutes * 60 * 1000);
  }
  // A page's own polling (an element with data-poll) is not a person at the screen.
  document.addEventListener("submit", reset);
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!(elt instanceof Element && elt.closest("[data-poll]"))) { reset(); }
  });
  reset();
})();
