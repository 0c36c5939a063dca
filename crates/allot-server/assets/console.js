// allot's console script: the pages work without it; it only draws the overview's trend
// charts (uPlot) from the numbers each figure carries. Loaded from this server, as
// everything the console uses (the Content-Security-Policy allows nothing else).
"use strict";

// htmx would add a <style> element for its indicators (which the policy refuses), and
// keep copies of pages it pushed to the address bar in sessionStorage (people's names and
// the form's token, outliving a sign-out in the tab): neither.
if (window.htmx) {
  htmx.config.includeIndicatorStyles = false;
  htmx.config.historyCacheSize = 0;
  htmx.config.allowEval = false;
}

function drawTrends() {
  for (const chart of document.querySelectorAll(".trend .chart[data-points]")) {
    const points = JSON.parse(chart.dataset.points);
    const data = [points.map((p) => p[0]), points.map((p) => p[1]), points.map((p) => p[2])];
    const width = Math.max(240, Math.min(chart.clientWidth || 640, 960));
    const steps = uPlot.paths.stepped({ align: 1 });
    new uPlot({
      width,
      height: 180,
      legend: { show: true },
      series: [
        {},
        { label: "Allocated", stroke: "#0b5cad", width: 2, paths: steps },
        { label: "Purchased", stroke: "#55606e", width: 1, dash: [6, 4], paths: steps },
      ],
      axes: [{}, { size: 48 }],
    }, data, chart);
    chart.removeAttribute("aria-hidden");
    chart.dataset.drawn = "true";
  }
}

document.addEventListener("DOMContentLoaded", drawTrends);
