// Journal entry form: running debit/credit totals, the difference, "add line" bookkeeping.
// Exact: amounts become integers of minor units (BigInt), never floats. No inline scripts (CSP).
(function () {
  "use strict";
  function form() { return document.querySelector("[data-entry-form]"); }

  // "1.234,56" (es) / "1,234.56" (en) / "1234.56" → BigInt minor units, or null if invalid.
  function toMinor(text, exponent, decimalSep, thousandSep) {
    var s = String(text || "").replace(/[\s\u00a0\u202f]/g, "");
    if (!s) { return 0n; }
    if (decimalSep !== "." && s.indexOf(decimalSep) !== -1) {
      s = s.split(thousandSep).join("").split(decimalSep).join(".");
    } else if (thousandSep === "." && /^-?\d{1,3}(\.\d{3})+$/.test(s)) {
      s = s.split(".").join("");  // "1.000" where "." groups thousands: one thousand
    } else if (thousandSep !== ".") {
      s = s.split(thousandSep).join("");
    }
    var m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
    if (!m) { return null; }
    var frac = (m[3] || "").replace(/0+$/, "");
    if (frac.length > exponent) { return null; }
    while (frac.length < exponent) { frac += "0"; }
    var value = BigInt(m[2] + frac);
    return m[1] ? -value : value;
  }

  function format(minor, exponent, decimalSep) {
    var negative = minor < 0n;
    var digits = (negative ? -minor : minor).toString();
    while (digits.length <= exponent) { digits = "0" + digits; }
    var whole = exponent ? digits.slice(0, digits.length - exponent) : digits;
    var frac = exponent ? decimalSep + digits.slice(digits.length - exponent) : "";
    return (negative ? "-" : "") + whole + frac;
  }

  function recompute() {
    var f = form();
    if (!f) { return; }
    var exponent = parseInt(f.getAttribute("data-exponent") || "2", 10);
    var dec = f.getAttribute("data-decimal-separator") || ".";
    var thou = f.getAttribute("data-thousand-separator") || ",";
    var debit = 0n, credit = 0n, bad = false;
    f.querySelectorAll("tr[data-entry-line]").forEach(function (row) {
      [["debit", 1], ["credit", -1]].forEach(function (pair) {
        var input = row.querySelector('input[name$="-' + pair[0] + '"]');
        if (!input) { return; }
        var value = toMinor(input.value, exponent, dec, thou);
        input.classList.toggle("is-invalid", value === null);
        if (value === null) { bad = true; return; }
        if (pair[1] > 0) { debit += value; } else { credit += value; }
      });
    });
    var diff = debit - credit;
    document.getElementById("total-debit").textContent = format(debit, exponent, dec);
    document.getElementById("total-credit").textContent = format(credit, exponent, dec);
    var out = document.getElementById("total-difference");
    out.textContent = bad ? "?" : format(diff, exponent, dec);
    out.classList.toggle("text-danger", bad || diff !== 0n);
    out.classList.toggle("text-success", !bad && diff === 0n);
  }

  document.addEventListener("input", function (e) {
    if (e.target.closest && e.target.closest("[data-entry-form]")) { recompute(); }
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-clear-line]");
    if (!button) { return; }
    // A cleared row is left blank: the server ignores untouched rows (form numbering kept).
    var row = button.closest("tr");
    row.querySelectorAll("input, select").forEach(function (el) {
      if (el.tagName === "SELECT") {
        el.selectedIndex = el.name.slice(-9) === "-currency" ? el.selectedIndex : 0;
      } else { el.value = ""; }
    });
    recompute();
  });
  // After "add line": one more form in the formset; focus its account.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (!e.target || e.target.id !== "entry-lines-body") { return; }
    var total = document.getElementById("id_lines-TOTAL_FORMS");
    if (total) { total.value = String(parseInt(total.value || "0", 10) + 1); }
    var rows = e.target.querySelectorAll("tr[data-entry-line]");
    var last = rows[rows.length - 1];
    var first = last && last.querySelector("select, input");
    if (first) { first.focus(); }
    recompute();
  });
  // Keyboard: Alt+Enter (or Ctrl+Enter) adds a line.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.altKey || e.ctrlKey) && e.target.closest && e.target.closest("[data-entry-form]")) {
      var add = document.getElementById("add-line");
      if (add) { e.preventDefault(); add.click(); }
    }
  });
  document.addEventListener("DOMContentLoaded", recompute);
})();
