// Idle log-off: the server ends the session after the idle timeout; this takes the screen to the
// sign-in page at the same moment, so patient data does not stay on an unattended screen.
// A person at the screen (a key pressed, a click, typing into a form) is activity: it restarts the
// count here and, at most once a minute, tells the server (a request renews the session). A page's
// own polling (its requests carry the X-KetaCare-Poll header) is not. A minute before the end, a notice says so.
(function () {
  var body = document.body;
  var minutes = parseFloat(body.dataset.idleMinutes || "0");
  if (!minutes) { return; }
  var keepAlive = body.dataset.keepaliveUrl;
  var total = minutes * 60 * 1000;
  var warnBefore = Math.min(60 * 1000, total / 2);
  var timer, warnTimer, lastPing = Date.now(), notice;
  function hideNotice() { if (notice) { notice.hidden = true; } }
  function showNotice() {
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "idle-notice";
      notice.setAttribute("role", "alert");
      notice.textContent = "You will be signed out in a minute for inactivity: press a key or click to stay signed in.";
      body.appendChild(notice);
    }
    notice.hidden = false;
  }
  function reset() {
    clearTimeout(timer);
    clearTimeout(warnTimer);
    hideNotice();
    warnTimer = setTimeout(showNotice, total - warnBefore);
    timer = setTimeout(function () { window.location.assign(body.dataset.loginUrl); }, total);
  }
  function personHere() {
    reset();
    if (keepAlive && Date.now() - lastPing > 60 * 1000) {
      lastPing = Date.now();
      fetch(keepAlive, { credentials: "same-origin", cache: "no-store" });
    }
  }
  ["keydown", "pointerdown", "input"].forEach(function (name) {
    document.addEventListener(name, personHere, { passive: true });
  });
  document.addEventListener("submit", reset);
  document.addEventListener("htmx:afterRequest", function (event) {
    // A poll is known by the header it sends (its element may be gone once the answer is swapped).
    var config = event.detail && event.detail.requestConfig;
    var polled = config && config.headers && config.headers["X-KetaCare-Poll"];
    if (!polled) { lastPing = Date.now(); reset(); }
  });
  reset();
})();
