// The analytics pages' charts, drawn with the vendored Chart.js (vendor/chart.umd.min.js).
// Each <canvas data-chart="ID"> reads its data from <script type="application/json" id="ID">,
// written by the server (analytics_views._chart): labels, datasets, the unit and the locale.
// No code comes from the server, only data. The table next to each chart is its accessible
// form (the canvas has an aria-label saying so); without script the tables are the page.
(function () {
  "use strict";
  if (!window.Chart) return;

  // Distinguishable for the common colour-vision deficiencies (Okabe–Ito, darkened for text).
  var COLOURS = ["#0b5394", "#c25400", "#007a5a", "#b8327a", "#4f6d8a", "#8a6d00", "#5e3c99", "#3d4852"];
  var rtl = document.documentElement.dir === "rtl";
  var direction = rtl ? "rtl" : "ltr";

  function formatter(spec) {
    // The page's digits: "ar-u-nu-arab" when the store uses Arabic-Indic digits.
    var numbers = new Intl.NumberFormat(spec.locale, { maximumFractionDigits: 1 });
    return function (value) {
      var text = numbers.format(value);
      return spec.suffix ? spec.suffix.replace("{}", text) : text;
    };
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    var format = formatter(spec);
    var round = spec.kind === "doughnut";
    var datasets = spec.datasets.map(function (set, i) {
      var colour = COLOURS[i % COLOURS.length];
      return {
        label: set.label,
        data: set.data,
        backgroundColor: round
          ? spec.labels.map(function (_, j) { return COLOURS[j % COLOURS.length]; })
          : colour,
        borderColor: round ? "#fff" : colour,
        borderWidth: spec.kind === "line" ? 2 : 1,
        pointRadius: 3,
        fill: false
      };
    });
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: spec.locale,
      plugins: {
        legend: {
          display: round || datasets.length > 1,
          position: round ? "bottom" : "top",
          align: "start",
          rtl: rtl,
          textDirection: direction
        },
        tooltip: {
          rtl: rtl,
          textDirection: direction,
          callbacks: {
            label: function (item) {
              var value = typeof item.parsed === "number"
                ? item.parsed
                : (spec.horizontal ? item.parsed.x : item.parsed.y);
              return (round ? item.label : item.dataset.label) + ": " + format(value);
            }
          }
        }
      }
    };
    if (!round) {
      var values = { beginAtZero: true, ticks: { callback: function (v) { return format(v); } } };
      var names = { ticks: { autoSkip: !spec.horizontal } };
      if (spec.horizontal) {
        // In Arabic the bars grow leftwards from the names on the right.
        options.indexAxis = "y";
        values.reverse = rtl;
        names.position = rtl ? "right" : "left";
        options.scales = { x: values, y: names };
        // One line of height per bar, so long lists stay readable.
        var bars = spec.labels.length * Math.max(1, datasets.length);
        canvas.parentNode.style.height = Math.max(10, 4 + bars * 1.6) + "rem";
      } else {
        // In Arabic time runs right to left, the values' axis on the right.
        names.reverse = rtl;
        values.position = rtl ? "right" : "left";
        options.scales = { x: names, y: values };
      }
    }
    new window.Chart(canvas, {
      type: spec.kind,
      data: { labels: spec.labels, datasets: datasets },
      options: options
    });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
