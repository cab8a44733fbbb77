/* Reports page: draws each chart from the JSON in the script tag its canvas names (data-chart),
   with the vendored Chart.js. No inline script: the page's CSP allows only files from 'self'. */
(function () {
  "use strict";
  var COLOURS = ["#2563eb", "#9ca3af", "#16a34a", "#dc2626"];
  function draw() {
    if (typeof window.Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      spec.datasets.forEach(function (set, i) {
        set.backgroundColor = COLOURS[i % COLOURS.length];
        set.borderColor = COLOURS[i % COLOURS.length];
      });
      new window.Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: { y: { beginAtZero: true } }
        }
      });
      canvas.dataset.drawn = "1";
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
