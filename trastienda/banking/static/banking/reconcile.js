// Keyboard for the reconciliation screen (no inline JavaScript: the CSP forbids it).
// ↑/↓ or j/k: previous/next line · 1–9: accept proposal N · /: search · e: new entry ·
// u: undo the latest reconciliation of the line · a: automatic reconciliation.
(function () {
  "use strict";
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }
  function move(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll("#line-list a[data-line]"));
    if (!links.length) { return; }
    var current = links.findIndex(function (a) { return a.classList.contains("active"); });
    var next = links[Math.max(0, Math.min(links.length - 1, current + step))];
    if (next && next !== links[current]) { window.location.href = next.href; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    var active = document.querySelector("#line-list a.active");
    if (active) { active.scrollIntoView({ block: "nearest" }); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key;
    if (key === "ArrowDown" || key === "j") { event.preventDefault(); move(1); return; }
    if (key === "ArrowUp" || key === "k") { event.preventDefault(); move(-1); return; }
    if (/^[1-9]$/.test(key)) {
      var form = document.querySelector('form[data-proposal="' + key + '"]');
      if (form && form.querySelector("button[type=submit]")) { event.preventDefault(); form.submit(); }
      return;
    }
    var focus = { "/": "search", "e": "entry-account" }[key];
    if (focus && document.getElementById(focus)) {
      event.preventDefault(); document.getElementById(focus).focus(); return;
    }
    if (key === "u") {
      var undo = document.querySelector("form[data-undo]");
      if (undo) { event.preventDefault(); undo.submit(); }
      return;
    }
    if (key === "a" && document.getElementById("auto-reconcile")) {
      event.preventDefault(); document.getElementById("auto-reconcile").click();
    }
  });
})();
