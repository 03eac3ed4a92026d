// Draws every element with a data-chart attribute (an ECharts option as JSON) with ECharts,
// on page load and in content htmx swaps in. A page renders
//   <div class="chart" data-chart='{{ option|tojson }}'></div>
// (single quotes: tojson escapes those, not double quotes) and loads
// vendor/echarts/echarts.min.js, then this file: no inline script, which the CSP forbids.
// Tooltips are drawn on the canvas ("richText"): ECharts' HTML tooltips are built from
// style attributes, which the CSP blocks.
(function () {
  "use strict";
  var echarts = window.echarts;

  function draw(root) {
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      if (echarts.getInstanceByDom(element)) {
        return;
      }
      var option = JSON.parse(element.dataset.chart);
      if (option.tooltip && !option.tooltip.renderMode) {
        option.tooltip.renderMode = "richText";
      }
      echarts.init(element, null, { renderer: "canvas" }).setOption(option);
    });
  }

  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = echarts.getInstanceByDom(element);
      if (chart) {
        chart.resize();
      }
    });
  });
  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
  });
  document.addEventListener("htmx:load", function (event) {
    draw(event.target);
  });
})();
