// Agora national page: the live feed (Server-Sent Events). The page works without it.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "fr";
  var MAX_LINES = 200;

  function localTimes(root) {
    root.querySelectorAll("time.local-time").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    });
  }
  localTimes(document);

  var feed = document.getElementById("feed");
  var state = document.getElementById("state");
  if (!feed || !state || !window.EventSource) return;
  // The last national position shown: the feed resumes after it.
  var after = feed.getAttribute("data-after");
  var source = null;
  document.body.setAttribute("data-feed-position", after);

  function open() {
    source = new EventSource("/national/feed?lang=" + lang + "&after=" + after);
    source.addEventListener("line", function (e) {
      after = e.lastEventId || after;
      if (e.data) {
        var t = document.createElement("template");
        t.innerHTML = e.data;
        localTimes(t.content);
        feed.insertBefore(t.content, feed.firstChild);
        while (feed.children.length > MAX_LINES) feed.removeChild(feed.lastChild);
        var empty = document.getElementById("feed-empty");
        if (empty) empty.remove();
      }
      document.body.setAttribute("data-feed-position", after);
    });
    source.addEventListener("state", function (e) {
      // Keep the open theme lists open.
      var open = {};
      state.querySelectorAll("tr[data-theme]").forEach(function (tr) {
        var d = tr.nextElementSibling && tr.nextElementSibling.querySelector("details");
        if (d && d.open) open[tr.getAttribute("data-theme")] = true;
      });
      state.innerHTML = e.data;
      state.querySelectorAll("tr[data-theme]").forEach(function (tr) {
        var d = tr.nextElementSibling && tr.nextElementSibling.querySelector("details");
        if (d && open[tr.getAttribute("data-theme")]) d.open = true;
      });
      localTimes(state);
    });
    // The log no longer holds the lines after ours: start over from a fresh snapshot.
    source.addEventListener("reload", function () { source.close(); location.reload(); });
    source.onerror = function () {
      // The browser reconnects by itself (with Last-Event-ID); if it gave up, so do we,
      // from the last line shown.
      if (source.readyState === EventSource.CLOSED) setTimeout(open, 1000);
    };
  }
  window.addEventListener("load", function () { setTimeout(open, 0); });
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();
