// Budget lines grid: Enter/↓ and Shift+Enter/↑ move to the same month of the next/previous
// row, "=" in an empty cell copies the month before, Ctrl+S saves, and each row's total follows
// what is typed. Exact: amounts become BigInt minor units, never floats. No inline script (CSP).
// Without JavaScript the grid is a plain form: it saves the same way.
(function () {
  "use strict";

  function settings(form) {
    return {
      exponent: parseInt(form.getAttribute("data-exponent") || "2", 10),
      dec: form.getAttribute("data-decimal-separator") || ".",
      thou: form.getAttribute("data-thousand-separator") || ","
    };
  }

  // "1.234,56" (es) / "1,234.56" (en) / "1234.56" → BigInt minor units; 0n if empty; null if
  // it is not an amount (as the server reads it: ledger.forms.parse_amount).
  function toMinor(text, n) {
    var s = String(text || "").replace(/[\s\u00a0\u202f]/g, "");
    if (!s) { return 0n; }
    if (n.dec !== "." && s.indexOf(n.dec) !== -1) {
      s = s.split(n.thou).join("").split(n.dec).join(".");
    } else if (n.thou === "." && /^-?\d{1,3}(\.\d{3})+$/.test(s)) {
      s = s.split(".").join("");
    } else if (n.thou !== ".") {
      s = s.split(n.thou).join("");
    }
    var m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
    if (!m) { return null; }
    var frac = (m[3] || "").replace(/0+$/, "");
    if (frac.length > n.exponent) { return null; }
    while (frac.length < n.exponent) { frac += "0"; }
    var value = BigInt(m[2] + frac);
    return m[1] ? -value : value;
  }

  function format(minor, n) {
    var negative = minor < 0n;
    var digits = (negative ? -minor : minor).toString();
    while (digits.length <= n.exponent) { digits = "0" + digits; }
    var whole = n.exponent ? digits.slice(0, digits.length - n.exponent) : digits;
    if (n.thou) { whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, n.thou); }
    var frac = n.exponent ? n.dec + digits.slice(digits.length - n.exponent) : "";
    return (negative ? "-" : "") + whole + frac;
  }

  function cells(row) { return Array.prototype.slice.call(row.querySelectorAll("input.num")); }

  function total(form, row) {
    var n = settings(form), sum = 0n, bad = false;
    cells(row).forEach(function (input) {
      var value = toMinor(input.value, n);
      input.classList.toggle("is-invalid", value === null);
      if (value === null) { bad = true; } else { sum += value; }
    });
    var out = row.querySelector("[data-row-total]");
    if (out) { out.textContent = bad ? "?" : format(sum, n); }
  }

  function move(input, step) {
    var row = input.closest("tr[data-row]");
    var col = input.getAttribute("data-col");
    var target = step > 0 ? row.nextElementSibling : row.previousElementSibling;
    while (target && !target.matches("tr[data-row]")) {
      target = step > 0 ? target.nextElementSibling : target.previousElementSibling;
    }
    if (!target) { return; }
    var next = target.querySelector('input.num[data-col="' + col + '"]');
    if (next) { next.focus(); next.select(); }
  }

  function init(form) {
    form.classList.add("budget-grid-ready");
    var help = document.getElementById("grid-help");
    if (help) { help.classList.add("budget-grid-ready"); }
    form.addEventListener("input", function (event) {
      var row = event.target.closest && event.target.closest("tr[data-row]");
      if (row && event.target.matches("input.num")) { total(form, row); }
    });
    form.addEventListener("keydown", function (event) {
      var target = event.target;
      if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
        event.preventDefault();
        var save = document.getElementById("grid-save");
        if (form.requestSubmit && save) { form.requestSubmit(save); } else { form.submit(); }
        return;
      }
      if (!target.matches || !target.matches("input.num")) { return; }
      if (event.key === "Enter" || event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        move(target, event.key === "ArrowUp" || (event.key === "Enter" && event.shiftKey) ? -1 : 1);
      } else if (event.key === "=" && !target.value) {
        var row = target.closest("tr[data-row]");
        var col = parseInt(target.getAttribute("data-col"), 10);
        var before = col > 0 ? row.querySelector('input.num[data-col="' + (col - 1) + '"]') : null;
        if (before && before.value) {
          event.preventDefault();
          target.value = before.value;
          total(form, row);
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-budget-grid]");
    if (form) { init(form); }
  });
})();
