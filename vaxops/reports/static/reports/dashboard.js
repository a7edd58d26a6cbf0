// The dashboard's charts (ECharts, installed from npm and served as a static file). The figures come from the
// page's json_script block, the same numbers as the tables beside each chart and the API. No inline style or
// script: tooltips are drawn on the canvas (renderMode "richText"), so the Content-Security-Policy holds.
(function () {
  "use strict";
  var charts = [];

  function textColor(root) {
    return root.classList.contains("big") ? "#e6edf3" : "#1f2328";
  }

  function base(root) {
    var color = textColor(root);
    return {
      animation: false,
      textStyle: { color: color },
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, textStyle: { color: color } },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    };
  }

  function bars(root, rows, nameKey, valueKey, extra) {
    var opt = base(root);
    opt.xAxis = { type: "value", max: 100, axisLabel: { formatter: "{value}%" } };
    opt.yAxis = { type: "category", inverse: true, data: rows.map(function (r) { return r[nameKey]; }) };
    opt.series = [{ type: "bar", name: "覆盖率（%）", data: rows.map(function (r) { return r[valueKey]; }),
                    label: { show: true, position: "right", formatter: "{c}%" } }];
    return Object.assign(opt, extra || {});
  }

  var builders = {
    series: function (root, data) {
      var s = data.series, opt = base(root);
      opt.xAxis = { type: "category", data: s.points };
      opt.yAxis = { type: "value" };
      opt.dataZoom = [{ type: "inside" }, { type: "slider", height: 18, bottom: 0 }];
      opt.grid = Object.assign({}, opt.grid, { bottom: 28 });
      opt.series = s.kinds.map(function (k) {
        return { type: "bar", stack: "doses", name: k.label, data: s[k.key] };
      });
      opt.series.push({ type: "line", name: "计划任务量", data: s.quota, symbol: "none", step: "middle" });
      return opt;
    },
    by_division: function (root, data) { return bars(root, data.by_division, "name", "coverage"); },
    by_band: function (root, data) { return bars(root, data.by_band, "band", "coverage"); },
    by_group: function (root, data) {
      var rows = data.by_group;
      // Coverage where the county has loaded the groups' counts; otherwise the people vaccinated per group.
      if (rows.some(function (r) { return r.coverage !== null; })) {
        return bars(root, rows.filter(function (r) { return r.coverage !== null; }), "group", "coverage");
      }
      var opt = base(root);
      opt.xAxis = { type: "value" };
      opt.yAxis = { type: "category", inverse: true, data: rows.map(function (r) { return r.group; }) };
      opt.series = [["people_first_dose", "第1剂"], ["people_completed", "全程接种"], ["people_booster", "加强免疫"]]
        .map(function (k) {
          return { type: "bar", name: k[1], data: rows.map(function (r) { return r[k[0]]; }) };
        });
      return opt;
    },
    funnel: function (root, data) {
      var opt = base(root);
      opt.tooltip = { trigger: "item", renderMode: "richText" };
      opt.series = [{ type: "funnel", sort: "none", left: "10%", width: "80%", top: 36, bottom: 8,
                      label: { show: true, position: "inside", formatter: "{b}\n{c}" },
                      data: data.funnel.map(function (r) { return { name: r.stage, value: r.people }; }) }];
      return opt;
    },
    stock: function (root, data) {
      var opt = base(root);
      opt.xAxis = { type: "value", name: "天" };
      opt.yAxis = { type: "category", inverse: true, data: data.stock.map(function (r) { return r.name; }) };
      opt.series = [{ type: "bar", name: "可用天数",
                      data: data.stock.map(function (r) { return r.days === null ? 0 : r.days; }),
                      label: { show: true, position: "right" } }];
      return opt;
    },
  };

  function draw(root, data) {
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var build = builders[el.dataset.chart];
      if (!build) { return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(build(root, data));
      if (el.dataset.chart === "by_division" && root.dataset.level !== "4") {
        chart.on("click", function (p) {
          var row = data.by_division[p.dataIndex];
          if (row) {
            window.location.href = root.dataset.divisionUrl + "?division=" + encodeURIComponent(row.division) +
              "&date=" + encodeURIComponent(data.date);
          }
        });
      }
      el.dataset.drawn = "1";
      charts.push(chart);
    });
  }

  function resize() { charts.forEach(function (c) { c.resize(); }); }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("dashboard");
    var source = document.getElementById("dashboard-data");
    if (!root || !source) { return; }
    var data = JSON.parse(source.textContent);
    if (window.echarts) { draw(root, data); }
    window.addEventListener("resize", resize);

    var toggle = document.getElementById("bigscreen");
    function setBig(on) {
      root.classList.toggle("big", on);
      toggle.textContent = on ? "退出大屏" : "大屏模式";
      if (window.echarts) { window.requestAnimationFrame(function () { draw(root, data); }); }
    }
    if (root.classList.contains("big")) { toggle.textContent = "退出大屏"; }
    toggle.addEventListener("click", function () {
      var on = !root.classList.contains("big");
      setBig(on);
      if (on && root.requestFullscreen) {
        root.requestFullscreen().catch(function () { /* the class alone fills the window */ });
      } else if (!on && document.fullscreenElement) {
        document.exitFullscreen().catch(function () {});
      }
    });
    document.addEventListener("fullscreenchange", function () {
      if (!document.fullscreenElement && root.classList.contains("big")) { setBig(false); }
      window.requestAnimationFrame(resize);
    });
  });
})();
