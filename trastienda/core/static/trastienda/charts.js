// Draws every <canvas data-chart="ID"> from the JSON in <script id="ID" type="application/json">
// (rendered by Django's json_script: data without inline JavaScript, as the CSP requires).
(function () {
  "use strict";
  var COLOURS = [["rgba(13, 110, 253, 0.5)", "rgb(13, 110, 253)"],
    ["rgba(220, 53, 69, 0.5)", "rgb(220, 53, 69)"], ["rgba(25, 135, 84, 0.5)", "rgb(25, 135, 84)"],
    ["rgba(255, 193, 7, 0.5)", "rgb(255, 193, 7)"], ["rgba(111, 66, 193, 0.5)", "rgb(111, 66, 193)"],
    ["rgba(13, 202, 240, 0.5)", "rgb(13, 202, 240)"], ["rgba(253, 126, 20, 0.5)", "rgb(253, 126, 20)"],
    ["rgba(108, 117, 125, 0.5)", "rgb(108, 117, 125)"]];
  function draw(root) {
    if (typeof Chart === "undefined") { return; }
    (root || document).querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      canvas.dataset.drawn = "1";
      // One series ({label, values}) or several ({datasets: [{label, values}, ...]}).
      var series = spec.datasets || [{ label: spec.label || "", values: spec.values }];
      new Chart(canvas, {
        type: spec.type || "bar",
        data: { labels: spec.labels, datasets: series.map(function (s, i) {
          var colour = COLOURS[i % COLOURS.length];
          return { label: s.label || "", data: s.values, backgroundColor: colour[0],
            borderColor: colour[1] };
        }) },
        options: { plugins: { legend: { display: !!(spec.datasets || spec.label) } },
          animation: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
