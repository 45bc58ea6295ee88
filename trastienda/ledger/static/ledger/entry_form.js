// Journal entry form, keyboard first: running debit/credit totals and the difference, lines
// added (HTMX: the server renders the row) and removed (the formset renumbered), Enter moves
// through the cells, "=" balances, shortcuts (listed in the page's "Shortcuts" menu).
// Exact: amounts become integers of minor units (BigInt), never floats. No inline scripts (CSP).
(function () {
  "use strict";
  var OPTIONAL = ["currency", "amount_currency", "due_date", "cost_centre", "project"];
  var AMOUNTS = ["debit", "credit"];
  var COLUMNS_KEY = "trastienda.ledger.entryColumns";

  function form() { return document.querySelector("[data-entry-form]"); }

  function number(f) {
    return {
      exponent: parseInt(f.getAttribute("data-exponent") || "2", 10),
      dec: f.getAttribute("data-decimal-separator") || ".",
      thou: f.getAttribute("data-thousand-separator") || ","
    };
  }

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

  // Minor units → the amount as the locale writes it ("1.500,00" in Spanish, "1,500.00" in
  // English), which toMinor and the server read back.
  function format(minor, exponent, decimalSep, thousandSep) {
    var negative = minor < 0n;
    var digits = (negative ? -minor : minor).toString();
    while (digits.length <= exponent) { digits = "0" + digits; }
    var whole = exponent ? digits.slice(0, digits.length - exponent) : digits;
    if (thousandSep) { whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, thousandSep); }
    var frac = exponent ? decimalSep + digits.slice(digits.length - exponent) : "";
    return (negative ? "-" : "") + whole + frac;
  }
  function formatFor(f, minor) {
    var n = number(f);
    return format(minor, n.exponent, n.dec, n.thou);
  }

  // A valid amount is shown as the locale writes it ("1.500" → "1.500,00"): what the entry
  // will book is visible before saving.
  function normalise(input) {
    var f = form(), n = number(f);
    var value = toMinor(input.value, n.exponent, n.dec, n.thou);
    if (value !== null && input.value.trim()) { input.value = formatFor(f, value); }
  }

  // --- rows and cells ---------------------------------------------------------------------

  function rows(f) { return Array.prototype.slice.call(f.querySelectorAll("tr[data-entry-line]")); }
  function fieldName(el) { return (el && el.name ? el.name : "").replace(/^lines-\d+-/, ""); }
  function field(row, name) { return row.querySelector('[name$="-' + name + '"]'); }
  function isCell(el) {
    return !el.disabled && el.type !== "hidden" && el.tabIndex !== -1 && el.offsetParent !== null;
  }
  // The controls Enter walks through: the header's, then each line's, in page order.
  function cells(root) {
    return Array.prototype.slice.call(root.querySelectorAll("input, select, textarea")).filter(isCell);
  }
  function focusCell(el) {
    if (!el) { return; }
    el.focus();
    if (el.tagName === "INPUT" && el.type === "text" && el.select) { el.select(); }
  }

  // --- totals -------------------------------------------------------------------------------

  // Sum of the debits and credits of the lines (but ``skip``); null if an amount is invalid.
  function totals(f, skip) {
    var n = number(f), debit = 0n, credit = 0n, bad = false;
    rows(f).forEach(function (row) {
      AMOUNTS.forEach(function (name) {
        var input = field(row, name);
        if (!input) { return; }
        var value = toMinor(input.value, n.exponent, n.dec, n.thou);
        // Marks what cannot be read; leaves the server's marks (a negative amount) alone.
        if (value === null) {
          input.classList.add("is-invalid");
          input.setAttribute("data-unreadable", "");
          bad = true;
          return;
        }
        if (input.hasAttribute("data-unreadable")) {
          input.classList.remove("is-invalid");
          input.removeAttribute("data-unreadable");
        }
        if (row === skip) { return; }
        if (name === "debit") { debit += value; } else { credit += value; }
      });
    });
    return bad ? null : { debit: debit, credit: credit };
  }

  function show(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function recompute() {
    var f = form();
    if (!f) { return; }
    var sums = totals(f, null);
    var debit = sums ? formatFor(f, sums.debit) : "?";
    var credit = sums ? formatFor(f, sums.credit) : "?";
    var diff = sums ? sums.debit - sums.credit : null;
    show("total-debit", debit);
    show("total-credit", credit);
    show("summary-debit", debit);
    show("summary-credit", credit);
    ["total-difference", "summary-difference"].forEach(function (id) {
      var out = document.getElementById(id);
      if (!out) { return; }
      out.textContent = diff === null ? "?" : formatFor(f, diff);
      out.classList.toggle("text-danger", diff !== 0n);
      out.classList.toggle("text-success", diff === 0n);
    });
    var status = document.getElementById("summary-status");
    if (status) {
      var empty = sums !== null && sums.debit === 0n && sums.credit === 0n;
      var balanced = diff === 0n && !empty;
      status.textContent = balanced ? f.getAttribute("data-balanced") : f.getAttribute("data-unbalanced");
      status.classList.toggle("d-none", empty);
      status.classList.toggle("text-bg-success", balanced);
      status.classList.toggle("text-bg-danger", !balanced);
    }
  }

  // "=" in an empty debit or credit: the amount that balances the entry, in the column it
  // belongs to (a debit asked for where a credit is missing goes to the credit, and back).
  function balance(input) {
    var f = form(), row = input.closest("tr[data-entry-line]");
    var sums = totals(f, row);
    if (!sums) { return; }
    var missing = sums.credit - sums.debit;  // > 0: a debit is missing
    if (missing === 0n) { return; }
    var debit = field(row, "debit"), credit = field(row, "credit");
    var target = missing > 0n ? debit : credit;
    var other = target === debit ? credit : debit;
    target.value = formatFor(f, missing > 0n ? missing : -missing);
    other.value = "";
    recompute();
    if (target !== input) { focusCell(target); }
  }

  // --- adding, removing, renumbering lines ----------------------------------------------------

  function addLine() {
    var add = document.getElementById("add-line");
    if (add) { add.click(); }  // HTMX asks the server for the row (queued: one at a time)
  }

  function blank(row, f) {
    row.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.tagName === "SELECT") {
        if (fieldName(el) === "currency") { el.value = f.getAttribute("data-base-currency") || el.value; }
        else { el.selectedIndex = 0; }
      } else { el.value = ""; }
      el.classList.remove("is-invalid");
    });
    if (window.TrastiendaAccountPicker) { window.TrastiendaAccountPicker.sync(row); }
  }

  // Form numbers follow the rows again: lines-N-field, ids, labels; TOTAL_FORMS.
  function renumber(f) {
    var all = rows(f);
    all.forEach(function (row, index) {
      row.querySelectorAll("[name], [id], [for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && /lines-\d+-/.test(value)) { el.setAttribute(attr, value.replace(/lines-\d+-/, "lines-" + index + "-")); }
        });
      });
      var cell = row.querySelector("[data-line-number]");
      if (cell) { cell.textContent = String(index + 1); }
    });
    var total = document.getElementById("id_lines-TOTAL_FORMS");
    var initial = document.getElementById("id_lines-INITIAL_FORMS");
    if (total) { total.value = String(all.length); }
    if (initial) { initial.value = String(Math.min(parseInt(initial.value || "0", 10), all.length)); }
  }

  function removeLine(row) {
    var f = form(), all = rows(f);
    var column = fieldName(document.activeElement && row.contains(document.activeElement) ? document.activeElement : null);
    if (all.length === 1) {  // the last line is blanked, not removed
      blank(row, f);
      recompute();
      focusCell(cells(row)[0]);
      return;
    }
    var index = all.indexOf(row);
    var next = all[index + 1] || all[index - 1];
    var errors = row.nextElementSibling;
    if (errors && errors.hasAttribute("data-line-errors")) { errors.remove(); }
    row.remove();
    renumber(f);
    recompute();
    var target = column ? field(next, column) : null;
    focusCell(target && isCell(target) ? target : cells(next)[0]);
  }

  // --- optional columns -----------------------------------------------------------------------

  function optionalInUse(f) {
    var base = f.getAttribute("data-base-currency");
    return rows(f).some(function (row) {
      return OPTIONAL.some(function (name) {
        var el = field(row, name);
        if (!el) { return false; }
        if (el.classList.contains("is-invalid")) { return true; }
        return name === "currency" ? el.value !== base : el.value !== "";
      });
    });
  }

  function setCompact(f, compact) {
    var table = document.getElementById("entry-lines");
    var button = document.getElementById("toggle-columns");
    if (table) { table.classList.toggle("entry-lines-compact", compact); }
    if (button) {
      button.setAttribute("aria-pressed", compact ? "false" : "true");
      button.textContent = f.getAttribute(compact ? "data-more-columns" : "data-fewer-columns");
    }
  }

  function isCompact() {
    var table = document.getElementById("entry-lines");
    return !!table && table.classList.contains("entry-lines-compact");
  }

  function toggleColumns(f) {
    var compact = !isCompact();
    setCompact(f, compact);
    try { window.localStorage.setItem(COLUMNS_KEY, compact ? "compact" : "all"); } catch (e) { /* private mode */ }
    var active = document.activeElement;
    if (active && f.contains(active) && !isCell(active)) {
      var row = active.closest("tr[data-entry-line]");
      focusCell(row ? cells(row)[0] : null);
    }
  }

  // --- keyboard -------------------------------------------------------------------------------

  function save(f, tries) {
    if (f.hasAttribute("data-submitting")) { return; }
    // An account still being looked up (Enter typed before the answer): wait for it a little.
    if (f.querySelector('.account-picker-input[aria-busy="true"]') && (tries || 0) < 40) {
      setTimeout(function () { save(f, (tries || 0) + 1); }, 50);
      return;
    }
    var button = document.getElementById("save");
    if (button) { button.click(); }
  }

  function moveFrom(el, step) {
    var f = form(), list = cells(f), index = list.indexOf(el);
    if (index === -1) { return; }
    var next = list[index + step];
    // A debit was typed: its line's credit stays empty, skip it.
    if (step > 0 && fieldName(el) === "debit" && el.value.trim() && next && fieldName(next) === "credit") {
      next = list[index + 2];
    }
    if (!next && step > 0) {
      if (el.closest("tr[data-entry-line]")) { addLine(); }
      return;
    }
    focusCell(next);
  }

  function moveVertically(el, step) {
    var row = el.closest("tr[data-entry-line]");
    if (!row) { return false; }
    var all = rows(form()), target = all[all.indexOf(row) + step];
    var cell = target ? field(target, fieldName(el)) : null;
    if (cell && isCell(cell)) { focusCell(cell); }
    return true;
  }

  function onKeydown(e) {
    var f = form();
    if (!f || e.defaultPrevented || e.isComposing) { return; }
    var el = e.target;
    var inForm = el && el.closest && el.closest("[data-entry-form]") === f;
    var ctrl = e.ctrlKey || e.metaKey;
    // Saving works from anywhere on the page.
    if (ctrl && !e.altKey && !e.shiftKey && (e.code === "KeyS" || (e.key && e.key.toLowerCase() === "s"))) {
      e.preventDefault();
      save(f);
      return;
    }
    if (!inForm) { return; }
    if (ctrl && e.key === "Enter") { e.preventDefault(); save(f); return; }
    var row = el.closest("tr[data-entry-line]");
    if (e.altKey && !ctrl) {
      if (e.code === "KeyN") { e.preventDefault(); addLine(); }
      else if (e.code === "KeyM") { e.preventDefault(); toggleColumns(f); }
      else if (e.key === "Backspace" && row) { e.preventDefault(); removeLine(row); }
      return;
    }
    if (ctrl) { return; }
    var tag = el.tagName;
    var name = fieldName(el);
    if (e.key === "Enter") {
      if (tag === "TEXTAREA" || tag === "BUTTON" || tag === "A" || el.type === "submit") { return; }
      e.preventDefault();  // never submit the form by Enter: Ctrl+S saves
      moveFrom(el, e.shiftKey ? -1 : 1);
      return;
    }
    // "=" (Shift+0 on Spanish and Italian keyboards, hence before the Shift test)
    if (e.key === "=" && AMOUNTS.indexOf(name) !== -1 && row) {
      e.preventDefault();  // "=" is never part of an amount
      if (!el.value.trim()) { balance(el); }
      return;
    }
    if (e.shiftKey) { return; }
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && tag === "INPUT" && el.type === "text"
        && !el.classList.contains("account-picker-input")) {
      if (moveVertically(el, e.key === "ArrowDown" ? 1 : -1)) { e.preventDefault(); }
    }
  }

  function onInput(e) {
    var f = form(), el = e.target;
    if (!f || !el.closest || el.closest("[data-entry-form]") !== f) { return; }
    var name = fieldName(el);
    el.classList.remove("is-invalid");  // being corrected; recompute marks what stays unreadable
    if (AMOUNTS.indexOf(name) !== -1 && el.value.trim()) {
      // A line is a debit or a credit: typing one clears the other.
      var other = field(el.closest("tr[data-entry-line]"), name === "debit" ? "credit" : "debit");
      if (other && other.value) { other.value = ""; }
    }
    recompute();
  }

  // --- wiring ---------------------------------------------------------------------------------

  document.addEventListener("keydown", onKeydown);
  document.addEventListener("input", onInput);
  document.addEventListener("change", function (e) {
    if (!e.target.closest || !e.target.closest("[data-entry-form]")) { return; }
    if (AMOUNTS.indexOf(fieldName(e.target)) !== -1) { normalise(e.target); }
    recompute();
  });
  document.addEventListener("entry:next", function (e) { moveFrom(e.target, 1); });
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-remove-line]");
    if (button) { removeLine(button.closest("tr[data-entry-line]")); return; }
    if (e.target.closest && e.target.closest("#toggle-columns")) { toggleColumns(form()); }
  });
  document.addEventListener("submit", function (e) {
    if (e.target.matches && e.target.matches("[data-entry-form]")) { e.target.setAttribute("data-submitting", ""); }
  });
  // After "add line": one more form in the formset; the new row's first cell gets the focus.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (!e.target || e.target.id !== "entry-lines-body") { return; }
    var f = form();
    if (window.TrastiendaAccountPicker) { window.TrastiendaAccountPicker.enhance(e.target); }
    renumber(f);
    var all = rows(f);
    var last = all[all.length - 1];
    if (last) { focusCell(cells(last)[0]); }
    recompute();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var f = form();
    if (!f) { return; }
    f.classList.add("entry-form-js");
    if (window.TrastiendaAccountPicker) { window.TrastiendaAccountPicker.enhance(f); }
    var stored = null;
    try { stored = window.localStorage.getItem(COLUMNS_KEY); } catch (e) { /* private mode */ }
    setCompact(f, stored !== "all" && !optionalInUse(f));
    f.querySelectorAll("tr[data-entry-line] input").forEach(function (input) {
      if (AMOUNTS.indexOf(fieldName(input)) !== -1) { normalise(input); }
    });
    recompute();
    // Keyboard first: the first field in error, else the first field of the form.
    var invalid = cells(f).filter(function (el) { return el.classList.contains("is-invalid"); })[0];
    focusCell(invalid || cells(f)[0]);
  });
})();
