// The unit's temperature curve drawn with ECharts (installed from npm, served as a static file) from the
// series the page carries in data-series, with the unit's range (data-low … data-high) as a band and
// the excursions (data-excursions) shaded. The server-drawn SVG stays as the fallback when ECharts is not
// installed. No inline style or script (tooltips drawn on the canvas), so the Content-Security-Policy holds.
(function () {
  "use strict";

  function draw() {
    var box = document.getElementById("curve");
    var target = document.getElementById("curve-chart");
    if (!box || !target || typeof window.echarts === "undefined") { return; }
    var series = JSON.parse(box.getAttribute("data-series") || "[]");
    var low = parseFloat(box.getAttribute("data-low"));
    var high = parseFloat(box.getAttribute("data-high"));
    var excursions = JSON.parse(box.getAttribute("data-excursions") || "[]");
    target.hidden = false;
    var chart = window.echarts.init(target, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: function (v) { return v + "℃"; } },
      grid: { left: 8, right: 16, top: 24, bottom: 36, containLabel: true },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: "℃", scale: true,
               min: function (v) { return Math.floor(Math.min(v.min, low - 2)); },
               max: function (v) { return Math.ceil(Math.max(v.max, high + 2)); } },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 4 }],
      series: [{
        type: "line", name: box.getAttribute("data-name") || "温度", data: series, symbol: "none",
        lineStyle: { width: 1.5 },
        markArea: {
          silent: true,
          data: [[{ yAxis: low, itemStyle: { color: "rgba(46, 160, 67, 0.12)" } }, { yAxis: high }]].concat(
            excursions.map(function (e) {
              return [{ xAxis: e[0], itemStyle: { color: e[2] === "freeze" ? "rgba(9, 105, 218, 0.15)"
                                                                         : "rgba(207, 34, 46, 0.15)" } },
                      { xAxis: e[1] }];
            })),
        },
        markLine: { silent: true, symbol: "none", data: [{ yAxis: low }, { yAxis: high }],
                    lineStyle: { type: "dashed" } },
      }],
    });
    var svg = box.querySelector("svg");
    if (svg) { svg.classList.add("replaced"); }
    box.setAttribute("data-drawn", "echarts");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
