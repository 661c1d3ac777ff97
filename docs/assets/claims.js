/* A verdict badge opens its claim's evidence in place.
 *
 * A claim box's own badge (a.verdict-toggle) shows and hides the box's <details
 * class="claim-evidence">. Any other badge links to a box (#claim-<id>, on this page or
 * another): following it opens that box's evidence, as does arriving at a page whose
 * address names a box. Without this script the badges are plain links to the boxes. */
(function () {
  "use strict";

  function evidenceOf(box) {
    return box ? box.querySelector("details.claim-evidence") : null;
  }

  function sync(box) {
    var details = evidenceOf(box);
    var toggle = box && box.querySelector(".claim-head .verdict-toggle");
    if (details && toggle) toggle.setAttribute("aria-expanded", String(details.open));
  }

  function boxNamed(hash) {
    var id = decodeURIComponent((hash || "").replace(/^#/, ""));
    if (id.indexOf("claim-") !== 0) return null;
    var el = document.getElementById(id);
    return el && el.classList.contains("claim") ? el : null;
  }

  function openFromAddress() {
    var box = boxNamed(location.hash);
    var details = evidenceOf(box);
    if (details && !details.open) {
      details.open = true;
      sync(box);
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.verdict-link") : null;
    if (!link) return;
    var url = new URL(link.getAttribute("href"), location.href);
    if (url.pathname !== location.pathname) return;   // another page opens the box when it loads
    var box = boxNamed(url.hash);
    var details = evidenceOf(box);
    if (!details) return;
    if (link.classList.contains("verdict-toggle")) {
      event.preventDefault();                          // in place: the page does not move
      details.open = !details.open;
    } else {
      details.open = true;                             // the link still scrolls to the box
    }
    sync(box);
  });

  // The evidence's own summary opens and closes it too: keep the badge's state in step.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.classList && details.classList.contains("claim-evidence")) sync(details.closest(".claim"));
  }, true);

  window.addEventListener("hashchange", openFromAddress);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", openFromAddress);
  else openFromAddress();
})();
