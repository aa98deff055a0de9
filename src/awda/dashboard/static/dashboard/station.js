// The receiving station's small helpers. Everything works without them: a plain form posts,
// a keyboard-wedge scanner types into the autofocused field and presses Enter.
(function () {
  "use strict";

  // One submit per form: a double click (or Enter pressed twice) sends it once. The server
  // repeats nothing anyway; this spares the second request.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        b.disabled = true;
        b.setAttribute("aria-busy", "true");
      });
    }, 0);
  });

  // A page restored from the back/forward cache keeps its disabled buttons: enable them.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form").forEach(function (form) { delete form.dataset.sent; });
    document.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.disabled = false;
      b.removeAttribute("aria-busy");
    });
  });

  // The return's page: a new grade proposes its disposition (until the person picks one),
  // and the button says what it will do.
  var station = document.getElementById("station-form");
  if (station) {
    var submit = document.getElementById("submit");
    var relabel = function () {
      if (!submit) return;
      var quick = true;
      station.querySelectorAll("section.item").forEach(function (section) {
        var decision = section.querySelector("[data-role=decision]");
        var disposition = section.querySelector("[data-role=disposition]");
        if (!disposition) return;
        if ((decision && decision.value !== "accepted") || disposition.value !== "restock") quick = false;
      });
      submit.textContent = quick ? submit.dataset.labelQuick : submit.dataset.labelSave;
    };
    station.addEventListener("change", function (event) {
      var field = event.target;
      var section = field.closest("section.item");
      if (!section) return;
      var disposition = section.querySelector("[data-role=disposition]");
      if (field.dataset.role === "disposition") field.dataset.chosen = "1";
      if (disposition && !disposition.dataset.chosen) {
        var condition = section.querySelector("[data-role=condition]");
        var decision = section.querySelector("[data-role=decision]");
        var suggest = JSON.parse(section.dataset.suggest || "{}");
        disposition.value = decision && decision.value === "accepted" && condition
          ? (suggest[condition.value] || "") : "";
      }
      relabel();
    });
  }

  // Scanning with the camera where the browser can read barcodes (BarcodeDetector): the
  // code fills the same field and submits the same form as a scanner would.
  var button = document.getElementById("camera-button");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  var form = document.getElementById("scan-form");
  var input = document.getElementById("code");
  var video = document.getElementById("camera-view");
  var status = document.getElementById("camera-status");
  var stream = null;
  var stop = function () {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.hidden = true;
  };
  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector();
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      return video.play();
    }).then(function () {
      var look = function () {
        if (!stream) return;
        detector.detect(video).then(function (codes) {
          if (codes.length && codes[0].rawValue) {
            input.value = codes[0].rawValue;
            stop();
            form.requestSubmit ? form.requestSubmit() : form.submit();
          } else {
            setTimeout(look, 200);
          }
        }, function () { setTimeout(look, 400); });
      };
      look();
    }, function (error) {
      stop();
      if (status) status.textContent = String(error && error.message || error);
    });
  });
})();
