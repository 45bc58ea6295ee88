// Invoice and bill form, keyboard first, after the ledger's entry form (entry_form.js):
// lines added (HTMX: the server renders the row) and removed (the formset renumbered), Enter
// moves through the cells, shortcuts (listed in the page's "Shortcuts" menu). Choosing a
// product fills its description, unit, price and taxes (GET data-product-url, JSON); choosing
// the partner fills its currency, payment term and language. The totals panel is drawn by the
// server (HTMX, the same arithmetic as the invoice) whenever something changes.
// The form works without this script. No inline scripts or styles (CSP).
(function () {
  "use strict";
  var OPTIONAL = ["account", "cost_centre"];
  var COLUMNS_KEY = "trastienda.billing.invoiceColumns";

  function form() { return document.querySelector("[data-invoice-form]"); }
  function byId(id) { return document.getElementById(id); }

  // --- rows and cells ---------------------------------------------------------------------

  function rows(f) { return Array.prototype.slice.call(f.querySelectorAll("tr[data-invoice-line]")); }
  function fieldName(el) { return (el && el.name ? el.name : "").replace(/^lines-\d+-/, ""); }
  function field(row, name) { return row ? row.querySelector('[name$="-' + name + '"]') : null; }
  function isCell(el) {
    return !el.disabled && el.type !== "hidden" && el.type !== "file" && el.tabIndex !== -1
      && el.offsetParent !== null;
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

  function recalc() {
    var totals = byId("invoice-totals");
    if (totals && window.htmx) { window.htmx.trigger(totals, "recalc"); }
  }

  // --- header: partner defaults, kind, currency -------------------------------------------------

  function selectedOption(select) {
    return select && select.selectedIndex >= 0 ? select.options[select.selectedIndex] : null;
  }

  function partnerData(f) {
    var option = selectedOption(f.querySelector("#id_partner"));
    return option && option.value ? option : null;
  }

  function effectiveCurrency(f) {
    var select = f.querySelector("#id_currency");
    var partner = partnerData(f);
    return (select && select.value) || (partner && partner.getAttribute("data-currency"))
      || f.getAttribute("data-base-currency");
  }

  function toggleRate(f) {
    var box = f.querySelector('[data-field-box="rate"]');
    if (!box) { return; }
    var input = box.querySelector("input");
    var foreign = effectiveCurrency(f) !== f.getAttribute("data-base-currency");
    box.hidden = !foreign && !(input && input.classList.contains("is-invalid"));
  }

  function setSelect(select, value) {
    if (!select || value === null || value === undefined) { return; }
    var found = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    if (found) { select.value = value; }
  }

  function onPartner(f) {
    var partner = partnerData(f);
    if (!partner) { return; }
    setSelect(f.querySelector("#id_currency"), partner.getAttribute("data-currency"));
    setSelect(f.querySelector("#id_payment_term"), partner.getAttribute("data-term"));
    setSelect(f.querySelector("#id_language"), partner.getAttribute("data-language"));
    toggleRate(f);
  }

  function onKind(f) {
    var kind = f.querySelector("#id_kind");
    if (!kind) { return; }
    var series = f.querySelector("#id_series");
    if (series) {
      Array.prototype.forEach.call(series.options, function (option) {
        var of = option.getAttribute("data-kind");
        option.hidden = !!of && of !== kind.value;
      });
      var chosen = selectedOption(series);
      if (chosen && chosen.hidden) { series.value = ""; }
    }
    var box = f.querySelector("[data-credit-note-only]");
    if (box) {
      var used = Array.prototype.some.call(box.querySelectorAll("input, textarea"), function (el) {
        return el.value.trim() !== "" || el.classList.contains("is-invalid");
      });
      box.hidden = kind.value !== "credit_note" && !used;
    }
  }

  // --- lines: product defaults, partner taxes -------------------------------------------------

  function setTaxes(row, ids) {
    var select = field(row, "taxes");
    if (!select) { return; }
    var wanted = (ids || []).map(String);
    Array.prototype.forEach.call(select.options, function (option) {
      option.selected = wanted.indexOf(option.value) !== -1;
    });
    showTaxes(select);
  }

  // A short list box: the first chosen tax is scrolled into sight.
  function showTaxes(select) {
    if (!select || !select.selectedOptions || !select.selectedOptions.length) { return; }
    select.scrollTop = Math.max(0, select.selectedOptions[0].offsetTop - select.offsetTop);
  }

  function hasTaxes(row) {
    var select = field(row, "taxes");
    return !!select && select.selectedOptions && select.selectedOptions.length > 0;
  }

  function onProduct(select) {
    var f = form(), row = select.closest("tr[data-invoice-line]");
    var url = f.getAttribute("data-product-url");
    if (!url || !select.value) { recalc(); return; }
    var params = new URLSearchParams({ product: select.value, currency: effectiveCurrency(f) });
    var partner = partnerData(f);
    if (partner) { params.set("partner", partner.value); }
    var language = f.querySelector("#id_language");
    if (language && language.value) { params.set("language", language.value); }
    row.setAttribute("aria-busy", "true");
    fetch(url + (url.indexOf("?") === -1 ? "?" : "&") + params.toString(), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      if (!data || !data.description) { return; }
      var description = field(row, "description");
      // A description typed by hand stays; one filled from a product follows the product.
      if (description && (!description.value.trim() || description.hasAttribute("data-filled"))) {
        description.value = data.description;
        description.setAttribute("data-filled", "");
      }
      setSelect(field(row, "unit"), data.unit);
      var price = field(row, "unit_price");
      if (price && (!price.value.trim() || price.hasAttribute("data-filled"))) {
        price.value = data.unit_price;
        price.setAttribute("data-filled", "");
      }
      setTaxes(row, data.taxes);
      row.setAttribute("data-taxes-set", "");
    }).catch(function () {
      /* the line keeps what was typed; the server fills the product's defaults on save */
    }).then(function () {
      row.removeAttribute("aria-busy");
      recalc();
    });
  }

  // A line without a product gets the partner's default taxes once, when it is first typed in.
  function partnerTaxes(row) {
    if (!row || row.hasAttribute("data-taxes-set")) { return; }
    var product = field(row, "product");
    if ((product && product.value) || hasTaxes(row)) { row.setAttribute("data-taxes-set", ""); return; }
    var partner = partnerData(form());
    var taxes = partner ? partner.getAttribute("data-taxes") : "";
    if (taxes) { setTaxes(row, taxes.split(",")); }
    row.setAttribute("data-taxes-set", "");
  }

  // --- adding, removing, renumbering lines ----------------------------------------------------

  function addLine() {
    var add = byId("add-line");
    if (add) { add.click(); }  // HTMX asks the server for the row (queued: one at a time)
  }

  function blank(row) {
    row.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.tagName === "SELECT") {
        if (el.multiple) { Array.prototype.forEach.call(el.options, function (o) { o.selected = false; }); }
        else if (fieldName(el) === "unit") { el.value = "C62"; }
        else { el.selectedIndex = 0; }
      } else { el.value = fieldName(el) === "quantity" ? "1" : ""; }
      el.classList.remove("is-invalid");
      el.removeAttribute("data-filled");
    });
    row.removeAttribute("data-taxes-set");
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
    var total = byId("id_lines-TOTAL_FORMS");
    var initial = byId("id_lines-INITIAL_FORMS");
    if (total) { total.value = String(all.length); }
    if (initial) { initial.value = String(Math.min(parseInt(initial.value || "0", 10), all.length)); }
  }

  function removeLine(row) {
    var f = form(), all = rows(f);
    var active = document.activeElement;
    var column = fieldName(active && row.contains(active) ? active : null);
    if (all.length === 1) {  // the last line is blanked, not removed
      blank(row);
      recalc();
      focusCell(cells(row)[0]);
      return;
    }
    var index = all.indexOf(row);
    var next = all[index + 1] || all[index - 1];
    var errors = row.nextElementSibling;
    if (errors && errors.hasAttribute("data-line-errors")) { errors.remove(); }
    row.remove();
    renumber(f);
    recalc();
    var target = column ? field(next, column) : null;
    focusCell(target && isCell(target) ? target : cells(next)[0]);
  }

  // --- optional columns -----------------------------------------------------------------------

  function optionalInUse(f) {
    return rows(f).some(function (row) {
      return OPTIONAL.some(function (name) {
        var el = field(row, name);
        return !!el && (el.value !== "" || el.classList.contains("is-invalid"));
      });
    });
  }

  function setCompact(f, compact) {
    var table = byId("invoice-lines");
    var button = byId("toggle-columns");
    if (table) { table.classList.toggle("invoice-lines-compact", compact); }
    if (button) {
      button.setAttribute("aria-pressed", compact ? "false" : "true");
      button.textContent = f.getAttribute(compact ? "data-more-columns" : "data-fewer-columns");
    }
  }

  function toggleColumns(f) {
    var table = byId("invoice-lines");
    var compact = !(table && table.classList.contains("invoice-lines-compact"));
    setCompact(f, compact);
    try { window.localStorage.setItem(COLUMNS_KEY, compact ? "compact" : "all"); } catch (e) { /* private mode */ }
    var active = document.activeElement;
    if (active && f.contains(active) && !isCell(active)) {
      var row = active.closest("tr[data-invoice-line]");
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
    var button = byId("save");
    if (button) { button.click(); }
  }

  function moveFrom(el, step) {
    var f = form(), list = cells(f), index = list.indexOf(el);
    if (index === -1) { return; }
    var next = list[index + step];
    if (!next && step > 0) {
      if (el.closest("tr[data-invoice-line]")) { addLine(); }
      return;
    }
    focusCell(next);
  }

  function moveVertically(el, step) {
    var row = el.closest("tr[data-invoice-line]");
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
    var inForm = el && el.closest && el.closest("[data-invoice-form]") === f;
    var ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && !e.altKey && !e.shiftKey && (e.code === "KeyS" || (e.key && e.key.toLowerCase() === "s"))) {
      e.preventDefault();
      save(f);
      return;
    }
    if (!inForm) { return; }
    if (ctrl && e.key === "Enter") { e.preventDefault(); save(f); return; }
    var row = el.closest("tr[data-invoice-line]");
    if (e.altKey && !ctrl) {
      if (e.code === "KeyN") { e.preventDefault(); addLine(); }
      else if (e.code === "KeyM") { e.preventDefault(); toggleColumns(f); }
      else if (e.key === "Backspace" && row) { e.preventDefault(); removeLine(row); }
      return;
    }
    if (ctrl) { return; }
    var tag = el.tagName;
    if (e.key === "Enter") {
      if (tag === "TEXTAREA" || tag === "BUTTON" || tag === "A" || el.type === "submit" || el.type === "file") { return; }
      e.preventDefault();  // never submit the form by Enter: Ctrl+S saves
      moveFrom(el, e.shiftKey ? -1 : 1);
      return;
    }
    if (e.shiftKey) { return; }
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && tag === "INPUT" && el.type === "text"
        && !el.classList.contains("account-picker-input")) {
      if (moveVertically(el, e.key === "ArrowDown" ? 1 : -1)) { e.preventDefault(); }
    }
  }

  // --- wiring ---------------------------------------------------------------------------------

  document.addEventListener("keydown", onKeydown);
  document.addEventListener("input", function (e) {
    var f = form(), el = e.target;
    if (!f || !el.closest || el.closest("[data-invoice-form]") !== f) { return; }
    el.classList.remove("is-invalid");  // being corrected
    el.removeAttribute("data-filled");  // typed by hand: a product no longer replaces it
  });
  document.addEventListener("change", function (e) {
    var f = form(), el = e.target;
    if (!f || !el.closest || el.closest("[data-invoice-form]") !== f) { return; }
    var name = fieldName(el);
    var row = el.closest("tr[data-invoice-line]");
    if (el.id === "id_partner") { onPartner(f); }
    else if (el.id === "id_kind") { onKind(f); }
    else if (el.id === "id_currency") { toggleRate(f); }
    else if (row && name === "product") { onProduct(el); }
    else if (row && (name === "description" || name === "unit_price") && el.value.trim()) { partnerTaxes(row); }
    if (row && name === "taxes") { row.setAttribute("data-taxes-set", ""); }
  });
  document.addEventListener("entry:next", function (e) {
    if (e.target.closest && e.target.closest("[data-invoice-form]")) { moveFrom(e.target, 1); }
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-remove-line]");
    if (button && button.closest("[data-invoice-form]")) { removeLine(button.closest("tr[data-invoice-line]")); return; }
    if (e.target.closest && e.target.closest("#toggle-columns")) { toggleColumns(form()); }
  });
  document.addEventListener("submit", function (e) {
    if (e.target.matches && e.target.matches("[data-invoice-form]")) { e.target.setAttribute("data-submitting", ""); }
  });
  // The totals answer also redraws the line amounts (out of band): clear the old ones first.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (!e.target || e.target.id !== "invoice-totals") { return; }
    document.querySelectorAll("[data-line-net]").forEach(function (el) { el.textContent = ""; });
  });
  // After "add line": one more form in the formset; the new row's first cell gets the focus.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (!e.target || e.target.id !== "invoice-lines-body") { return; }
    var f = form();
    if (window.TrastiendaAccountPicker) { window.TrastiendaAccountPicker.enhance(e.target); }
    renumber(f);
    var all = rows(f);
    var last = all[all.length - 1];
    if (last) { focusCell(cells(last)[0]); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var f = form();
    if (!f) { return; }
    f.classList.add("invoice-form-js");
    if (window.TrastiendaAccountPicker) { window.TrastiendaAccountPicker.enhance(f); }
    var stored = null;
    try { stored = window.localStorage.getItem(COLUMNS_KEY); } catch (e) { /* private mode */ }
    setCompact(f, stored !== "all" && !optionalInUse(f));
    rows(f).forEach(function (row) {
      if (hasTaxes(row) || field(row, "description").value) { row.setAttribute("data-taxes-set", ""); }
      showTaxes(field(row, "taxes"));
    });
    onKind(f);
    toggleRate(f);
    // Keyboard first: the first field in error, else the first field of the form.
    var invalid = cells(f).filter(function (el) { return el.classList.contains("is-invalid"); })[0];
    focusCell(invalid || cells(f)[0]);
  });
})();
