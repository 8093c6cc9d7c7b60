/* Draws every <canvas data-chart="{...}"> with the vendored Chart.js (no CDN; the CSP
   allows scripts from this origin only). The JSON carries type, labels, series and
   optional max/horizontal; the same numbers are in a table next to each chart. */
(function () {
  "use strict";
  // AA contrast on white for bars and lines; one colour per series.
  var COLOURS = ["#0b5cad", "#b35900", "#14632d", "#7a2e8e"];

  function draw(canvas) {
    if (canvas.dataset.drawn || typeof window.Chart === "undefined") { return; }
    var spec;
    try { spec = JSON.parse(canvas.dataset.chart); } catch (e) { return; }
    canvas.dataset.drawn = "1";
    var datasets = spec.series.map(function (s, i) {
      var colour = COLOURS[i % COLOURS.length];
      return { label: s.label, data: s.data, backgroundColor: colour, borderColor: colour,
               spanGaps: true, tension: 0.2, pointRadius: 3 };
    });
    var valueAxis = { beginAtZero: true };
    if (spec.max) { valueAxis.suggestedMax = spec.max; }
    if (spec.integer) { valueAxis.ticks = { precision: 0 }; }  // counts of people: no 0.5 ticks
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: datasets.length > 1 } },
      scales: spec.horizontal ? { x: valueAxis } : { y: valueAxis }
    };
    if (spec.horizontal) { options.indexAxis = "y"; }
    new window.Chart(canvas, { type: spec.type, data: { labels: spec.labels, datasets: datasets }, options: options });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // Charts inside fragments swapped in by htmx.
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
