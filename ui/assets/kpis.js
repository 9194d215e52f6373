// Draws the KPI chart of /ui/kpis with uPlot from /ui/kpis/data.json (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var target = document.getElementById("kpi-chart");
  if (!target || typeof uPlot === "undefined") return;
  fetch(target.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (response) {
      return response.json();
    })
    .then(function (data) {
      var xs = data.days.map(function (day) {
        return Date.parse(day + "T00:00:00Z") / 1000;
      });
      var options = {
        width: Math.max(320, Math.min(900, target.clientWidth || 900)),
        height: 280,
        series: [
          {},
          { label: "started", stroke: "#1f6feb", width: 2 },
          { label: "merged", stroke: "#1a7f37", width: 2 },
          { label: "failed", stroke: "#cf222e", width: 2 },
        ],
        axes: [{}, { label: "tasks" }],
      };
      new uPlot(options, [xs, data.started, data.merged, data.failed], target);
      target.setAttribute("data-drawn", String(xs.length));
    });
})();
