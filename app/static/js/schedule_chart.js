// Stacked bar chart of principal and interest per installment (ECharts, served locally).
(function () {
  var el = document.getElementById("schedule-chart");
  if (!el || typeof echarts === "undefined") { return; }
  var data = JSON.parse(el.getAttribute("data-chart"));
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: data.names },
    xAxis: { type: "category", name: data.axis[0], data: data.labels },
    yAxis: { type: "value", name: data.axis[1] },
    series: [
      { name: data.names[0], type: "bar", stack: "pay", data: data.principal.map(Number) },
      { name: data.names[1], type: "bar", stack: "pay", data: data.interest.map(Number) }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
