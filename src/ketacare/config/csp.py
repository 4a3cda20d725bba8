"""The Content-Security-Policy sent with every response (django-csp 4).

Only files served by KetaCare itself may run in or style a page: no inline <script>, no on...=
handler attribute, no eval, no <style> element and no style= attribute. So a script that an
attacker manages to inject into a page (a patient's name, a free-text note) does not run.
What keeps the pages working under it:
- behaviour lives in web/static/web/*.js and is asked for with data- attributes (behaviour.js);
- htmx is told not to inject its indicator <style> nor to evaluate code (web/base.html), and its
  indicator rules are in ketacare.css;
- the score plots are inline SVG with presentation attributes, not CSS (measures/plots.py);
- the PDF templates keep their <style>: WeasyPrint reads them, no browser does.
docs/security.md explains the policy; tests/web/test_csp.py and tests/browser/test_csp.py hold it.
"""

from __future__ import annotations

from typing import Any

from csp.constants import NONE, SELF

CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        # Whatever no directive below names (fonts, frames, media, workers): this site only.
        "default-src": [SELF],
        # Script files from this site only: no inline script, no event handler attribute, no eval.
        "script-src": [SELF],
        # Stylesheets from this site only: no <style> element, no style= attribute.
        "style-src": [SELF],
        # Images from this site, and data: URIs (Pico's check mark and select arrow icons).
        "img-src": [SELF, "data:"],
        # No plugin content (<object>, <embed>).
        "object-src": [NONE],
        # No <base> element sending the page's relative links to another site.
        "base-uri": [SELF],
        # Forms submit to this site only.
        "form-action": [SELF],
        # No site may frame a KetaCare page (clickjacking), as X-Frame-Options: DENY says too.
        "frame-ancestors": [NONE],
        # htmx requests (fetch, XHR, WebSocket) go to this site only.
        "connect-src": [SELF],
    }
}
