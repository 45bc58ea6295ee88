// Draws every <canvas data-chart="ID"> from the JSON in <script id="ID" type="application/json">
// (rendered by Django's json_script: data without inline JavaScript, as the CSP requires).
(function () {
  "use strict";
  function draw(root) {
    if (typeof Chart === "undefined") { return; }
    (root || document).querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      canvas.dataset.drawn = "1";
      new Chart(canvas, {
        type: spec.type || "bar",
        data: { labels: spec.labels, datasets: [{ label: spec.label || "", data: spec.values,
          backgroundColor: "rgba(13, 110, 253, 0.5)", borderColor: "rgb(13, 110, 253)" }] },
        options: { plugins: { legend: { display: !!spec.label } }, animation: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
