/* A figure's data point tells its value where there is no hover: a tap (or click) on a point
 * writes the point's tooltip (its <title>: value, spread, where and when it was measured)
 * into a line under the drawing, read out to screen readers too. */
(function () {
  "use strict";

  var POINTS = "g.fig-point, g.fig-book-point, g.fig-level, g.fig-segment, g.fig-gap";

  document.addEventListener("click", function (event) {
    var point = event.target.closest ? event.target.closest("svg.chapter-svg " + POINTS) : null;
    if (!point) return;
    var title = point.querySelector(":scope > title");
    var figure = point.closest("figure.chapter-figure");
    if (!title || !figure) return;
    var readout = figure.querySelector(".chapter-figure__readout");
    if (!readout) {
      readout = document.createElement("p");
      readout.className = "chapter-figure__readout";
      readout.setAttribute("aria-live", "polite");
      figure.insertBefore(readout, figure.querySelector("figcaption"));
    }
    readout.textContent = title.textContent;
    var before = figure.querySelector(".is-selected");
    if (before) before.classList.remove("is-selected");
    point.classList.add("is-selected");
  });
})();
