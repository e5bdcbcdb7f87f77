// openpersonalize console: progressive enhancement only. Every page works without this file;
// with it, job statuses and progress refresh in place and the live events view updates itself.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var IN_FLIGHT = ["CREATE PENDING", "CREATE IN_PROGRESS", "CREATE STOPPING", "PENDING", "IN_PROGRESS",
                   "DELETE PENDING", "DELETE IN_PROGRESS"];

  function badgeClass(status) {
    var s = (status || "").toUpperCase();
    if (s.indexOf("DELETE") === 0) return "muted";
    if (s.indexOf("FAILED") >= 0) return "failed";
    if (s === "ACTIVE" || s === "COMPLETED") return "ok";
    if (s.indexOf("PENDING") >= 0 || s.indexOf("IN_PROGRESS") >= 0 || s.indexOf("STOPPING") >= 0) {
      return "busy";
    }
    return "muted";
  }

  function getJSON(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (xhr.status === 200) {
        try { done(JSON.parse(xhr.responseText)); } catch (e) { /* ignore a torn answer */ }
      }
    };
    xhr.send();
  }

  function refreshStatuses(group) {
    getJSON("/console/api/status?group=" + encodeURIComponent(group), function (data) {
      var reload = false;
      var resources = data.resources || {};
      document.querySelectorAll("[data-arn]").forEach(function (el) {
        var info = resources[el.getAttribute("data-arn")];
        if (!info) return;
        if (el.classList.contains("badge")) {
          var before = el.textContent.trim();
          if (before !== info.status) {
            el.textContent = info.status;
            el.className = "badge " + badgeClass(info.status);
            if (IN_FLIGHT.indexOf(info.status) < 0) reload = true;
          }
        } else if (el.tagName === "PROGRESS" && info.percentComplete != null) {
          el.value = info.percentComplete;
          var label = el.nextElementSibling;
          if (label && label.classList.contains("pct")) label.textContent = info.percentComplete + "%";
        }
      });
      if (reload) {
        window.location.reload();
      } else if (data.inFlight) {
        window.setTimeout(function () { refreshStatuses(group); }, POLL_MS);
      }
    });
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    return td;
  }

  function refreshEvents(box) {
    var group = box.getAttribute("data-group");
    getJSON("/console/api/events?group=" + encodeURIComponent(group), function (data) {
      var body = box.querySelector("tbody");
      var count = document.getElementById("event-total");
      if (count) count.textContent = data.total || 0;
      var events = data.events || [];
      var empty = document.getElementById("events-empty");
      if (empty) empty.hidden = events.length > 0;
      if (body) {
        while (body.firstChild) body.removeChild(body.firstChild);
        events.forEach(function (ev) {
          var tr = document.createElement("tr");
          [ev.time, ev.userId, ev.itemId, ev.eventType, ev.eventValue].forEach(function (v) {
            tr.appendChild(cell(v));
          });
          body.appendChild(tr);
        });
      }
      var stamp = document.getElementById("events-updated");
      if (stamp) stamp.textContent = new Date().toLocaleTimeString();
    });
    window.setTimeout(function () { refreshEvents(box); }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var refresh = document.body.getAttribute("data-refresh-group");
    if (refresh) window.setTimeout(function () { refreshStatuses(refresh); }, POLL_MS);
    var live = document.getElementById("live-events");
    if (live) refreshEvents(live);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
  });
})();
