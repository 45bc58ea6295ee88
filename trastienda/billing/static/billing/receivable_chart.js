// Stacked bars of the aged report: every <canvas data-stacked-chart="ID"> is drawn from the
// JSON in <script id="ID" type="application/json"> (Django's json_script, so no inline
// JavaScript, as the CSP requires): {labels: [partner codes], names: [partner names],
// datasets: [{label: bucket, values: ["12.50", ...]}, ...]}, one bar per partner, one segment
// per bucket, from "current" (green) to "over 90 days" (red).
(function () {
  "use strict";
  var COLOURS = ["rgba(25, 135, 84, 0.75)", "rgba(255, 193, 7, 0.75)", "rgba(253, 126, 20, 0.75)",
    "rgba(220, 53, 69, 0.6)", "rgba(132, 32, 41, 0.85)"];
  function draw(root) {
    if (typeof Chart === "undefined") { return; }
    (root || document).querySelectorAll("canvas[data-stacked-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.getAttribute("data-stacked-chart"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      canvas.dataset.drawn = "1";
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (s, i) {
            return { label: s.label, data: s.values.map(Number),
              backgroundColor: COLOURS[i % COLOURS.length] };
          })
        },
        options: {
          indexAxis: "y",
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: {
            legend: { position: "bottom" },
            tooltip: { callbacks: { title: function (items) {
              var i = items[0].dataIndex;
              return spec.labels[i] + (spec.names && spec.names[i] ? " · " + spec.names[i] : "");
            } } }
          },
          scales: { x: { stacked: true }, y: { stacked: true } }
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
