// Agora desk: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "fr";

  // Times in the desk's own time zone (the server writes UTC).
  document.querySelectorAll("time.local-time").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.textContent = d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  });
  document.querySelectorAll("time.local-datetime").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.textContent = d.toLocaleString(lang, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  });

  // One submission per tap: the button is disabled once the form is sent (the request id
  // makes a second one harmless anyway).
  document.querySelectorAll("form.once").forEach(function (f) {
    f.addEventListener("submit", function () {
      f.querySelectorAll("button[type=submit]").forEach(function (b) {
        setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });

  // A scanned or typed code: upper case, as printed.
  var code = document.getElementById("code");
  if (code) {
    code.addEventListener("input", function () {
      var p = code.selectionStart;
      code.value = code.value.toUpperCase();
      code.setSelectionRange(p, p);
    });
  }

  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });

  // Live seat counts (Server-Sent Events); the feed reconnects by itself.
  // Opened once the page has loaded, so that the page never reads as still loading.
  if (document.querySelector("[data-seat]") && window.EventSource) {
    window.addEventListener("load", function () { setTimeout(follow, 0); });
  }
  function follow() {
    var feed = new EventSource("/desk/seats");
    // Closed when leaving the page: the browser's few connections to the node are kept
    // for the pages (HTTP/1.1 allows six per host).
    window.addEventListener("pagehide", function () { feed.close(); });
    feed.onmessage = function (e) {
      var counts;
      try { counts = JSON.parse(e.data); } catch (_) { return; }
      document.querySelectorAll("[data-seat]").forEach(function (el) {
        var c = counts[el.getAttribute("data-seat")];
        if (!c) return;
        var left = el.querySelector(".left");
        if (left && left.textContent !== String(c[0])) {
          left.textContent = c[0];
          el.classList.add("changed");
          setTimeout(function () { el.classList.remove("changed"); }, 1200);
        }
        var cap = el.querySelector(".cap");
        if (cap) cap.textContent = "/" + c[1];
        var wait = el.querySelector(".wait");
        if (wait) wait.textContent = c[2];
        el.classList.toggle("full", c[0] === 0);
      });
      document.body.setAttribute("data-seats-seq", e.lastEventId);
    };
  }
})();
