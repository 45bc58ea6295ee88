// Account picker: turns each <select data-account-search="URL"> into a combobox that searches
// the company's postable, active accounts by code prefix or words of the name (server side,
// GET URL?q=, JSON). The select stays in the form, visually hidden, and keeps the chosen
// account: without JavaScript (or if the search is refused) the plain select still works.
//
// Keys in the box: type to search; ↓/↑ move through the list (↓ opens it); Enter picks the
// highlighted account and asks the form for the next cell (event "entry:next"); typed faster
// than the answer came, Enter (or Tab) moves on at once and the first account found is picked
// when the answer arrives (none found: the box is marked invalid); Tab picks and moves on;
// Esc closes the list (Enter then keeps the account and moves on), a second Esc restores the
// chosen account's label.
// No inline scripts or styles (CSP): positions are set through the CSSOM.
(function () {
  "use strict";
  var DEBOUNCE_MS = 120;
  var LIST_ID = "account-picker-list";
  var list = null;      // one listbox for the page, placed under the box in use
  var current = null;   // the picker whose list is open

  function text(state, key, fallback) {
    var holder = state.select.closest("[data-picker-" + key + "]");
    return (holder && holder.getAttribute("data-picker-" + key)) || fallback;
  }

  function labelOf(select) {
    var option = select.options[select.selectedIndex];
    return option && option.value ? option.text : "";
  }

  function ensureList() {
    if (list) { return list; }
    list = document.createElement("ul");
    list.id = LIST_ID;
    list.className = "dropdown-menu account-picker-list";
    list.setAttribute("role", "listbox");
    // Keep the focus in the box while the mouse chooses.
    list.addEventListener("mousedown", function (e) { e.preventDefault(); });
    list.addEventListener("click", function (e) {
      var option = e.target.closest("[role=option]");
      if (option && current) { pick(current, parseInt(option.getAttribute("data-index"), 10), false); }
    });
    list.addEventListener("mousemove", function (e) {
      var option = e.target.closest("[role=option]");
      if (option && current) { highlight(current, parseInt(option.getAttribute("data-index"), 10), false); }
    });
    document.body.appendChild(list);
    return list;
  }

  function place(state) {
    if (!list || current !== state) { return; }
    var box = state.input.getBoundingClientRect();
    list.style.minWidth = Math.max(box.width, 320) + "px";
    list.style.left = Math.max(0, box.left + window.scrollX) + "px";
    var below = window.innerHeight - box.bottom;
    var height = list.offsetHeight;
    var top = box.bottom + 2;
    if (height > below - 8 && box.top > below) { top = box.top - height - 2; }
    list.style.top = (top + window.scrollY) + "px";
  }

  function close(state) {
    state.input.setAttribute("aria-expanded", "false");
    state.input.removeAttribute("aria-activedescendant");
    if (current === state && list) {
      list.classList.remove("show");
      list.replaceChildren();
      current = null;
    }
  }

  function item(className, content) {
    var li = document.createElement("li");
    li.className = className;
    li.textContent = content;
    return li;
  }

  function render(state, message) {
    ensureList();
    if (current && current !== state) { close(current); }
    current = state;
    list.setAttribute("aria-label", text(state, "label", "Account"));
    list.replaceChildren();
    state.results.forEach(function (account, index) {
      var li = document.createElement("li");
      li.className = "dropdown-item account-picker-option";
      li.id = LIST_ID + "-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("data-index", String(index));
      li.setAttribute("data-code", account.code);
      li.setAttribute("aria-selected", "false");
      var code = document.createElement("span");
      code.className = "account-picker-code";
      code.textContent = account.code;
      var name = document.createElement("span");
      name.className = "account-picker-name";
      name.textContent = account.name;
      li.append(code, " · ", name);
      if (account.path) {
        var path = document.createElement("span");
        path.className = "account-picker-path";
        path.textContent = account.path;
        path.title = account.path;
        li.appendChild(path);
      }
      list.appendChild(li);
    });
    if (message) {
      list.appendChild(item("dropdown-item-text small text-muted account-picker-note", message));
    } else if (!state.results.length) {
      list.appendChild(item("dropdown-item-text small text-muted account-picker-note",
        text(state, "empty", "No account matches.")));
    } else if (state.more) {
      list.appendChild(item("dropdown-item-text small text-muted account-picker-note",
        text(state, "more", "More accounts match: keep typing.")));
    }
    list.classList.add("show");
    state.input.setAttribute("aria-expanded", "true");
    highlight(state, state.results.length ? 0 : -1, true);
    place(state);
  }

  function highlight(state, index, scroll) {
    state.index = index;
    if (!list) { return; }
    list.querySelectorAll("[role=option]").forEach(function (li) {
      var on = parseInt(li.getAttribute("data-index"), 10) === index;
      li.classList.toggle("active", on);
      li.setAttribute("aria-selected", on ? "true" : "false");
      if (on) {
        state.input.setAttribute("aria-activedescendant", li.id);
        if (scroll) { li.scrollIntoView({ block: "nearest" }); }
      }
    });
    if (index < 0) { state.input.removeAttribute("aria-activedescendant"); }
  }

  function search(state) {
    clearTimeout(state.timer);
    state.timer = null;
    if (state.controller) { state.controller.abort(); }
    var controller = new AbortController();
    state.controller = controller;
    var query = state.dirty ? state.input.value.trim() : "";
    var url = state.url + (state.url.indexOf("?") === -1 ? "?" : "&") + "q=" + encodeURIComponent(query);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: controller.signal })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (state.controller !== controller) { return; }
        state.controller = null;
        state.results = data.results || [];
        state.more = !!data.more;
        state.query = query;
        if (state.pickOnArrival) {  // Enter or Tab came first: the focus has moved on already
          awaiting(state, false);
          if (state.results.length) { pick(state, 0, false); } else { unresolved(state); }
          return;
        }
        if (document.activeElement !== state.input) { return; }
        render(state);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        state.controller = null;
        state.results = [];
        if (state.pickOnArrival) { awaiting(state, false); unresolved(state); return; }
        if (document.activeElement === state.input) { render(state, text(state, "failed", "The accounts could not be searched.")); }
      });
  }

  // Enter (or Tab) before the answer: the form moves on at once and the first account found
  // is chosen when the answer comes, so a fast typist never types into the wrong box.
  function awaiting(state, on) {
    state.pickOnArrival = on;
    if (on) { state.input.setAttribute("aria-busy", "true"); } else { state.input.removeAttribute("aria-busy"); }
  }

  function pickLater(state) {
    awaiting(state, true);
    if (state.timer || !state.controller) { search(state); }
    close(state);
  }

  // Nothing matched what was typed: no account on the line, and the box says so.
  function unresolved(state) {
    state.input.classList.add("is-invalid");
    if (state.select.value) {
      state.select.value = "";
      state.select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function pending(state) { return !!(state.timer || state.controller); }

  function pick(state, index, next) {
    var account = state.results[index];
    if (!account) { return; }
    var select = state.select;
    var value = String(account.id);
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === value; });
    if (!option) {  // an account the page did not list (created since): offer it too
      option = new Option(account.label, value);
      select.add(option);
    }
    select.value = value;
    state.input.value = account.label;
    state.input.title = account.path ? account.label + "\n" + account.path : account.label;
    state.dirty = false;
    state.input.classList.remove("is-invalid");
    close(state);
    select.dispatchEvent(new Event("change", { bubbles: true }));
    if (next) { state.input.dispatchEvent(new CustomEvent("entry:next", { bubbles: true })); }
  }

  function restore(state) {
    state.input.value = labelOf(state.select);
    state.dirty = false;
    state.dismissed = false;
  }

  function onKey(state, e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var open = current === state;
    switch (e.key) {
      case "ArrowDown":
      case "ArrowUp":
        e.preventDefault();
        if (open && state.results.length) {
          var n = state.results.length;
          highlight(state, (state.index + (e.key === "ArrowDown" ? 1 : -1) + n) % n, true);
        } else if (!open && e.key === "ArrowDown") {
          search(state);
        }
        break;
      case "Enter":
        if (open && state.index >= 0 && !pending(state)) {
          e.preventDefault();
          pick(state, state.index, true);
        } else if (state.dirty && state.dismissed) {
          restore(state);  // Esc said no: the account stays, the form moves on
        } else if (state.dirty && !pending(state) && state.index >= 0
                   && state.query === state.input.value.trim()) {
          e.preventDefault();  // the list was closed (not by Esc): its highlighted account
          pick(state, state.index, true);
        } else if (state.dirty && state.input.value.trim()) {
          e.preventDefault();  // the answer is on its way (or not asked yet): its first account
          pickLater(state);
          state.input.dispatchEvent(new CustomEvent("entry:next", { bubbles: true }));
        } else if (open) {
          e.preventDefault();
        } else if (state.dirty) {
          state.dirty = false;  // an emptied box: no account; the form moves on
          if (state.select.value) {
            state.select.value = "";
            state.select.dispatchEvent(new Event("change", { bubbles: true }));
          }
        }
        break;
      case "Escape":
        if (open) { e.preventDefault(); e.stopPropagation(); close(state); state.dismissed = true; }
        else if (state.dirty) { e.preventDefault(); restore(state); }
        break;
      case "Tab":
        if (open && state.index >= 0 && state.dirty && !pending(state)) { pick(state, state.index, false); }
        else if (state.dirty && state.input.value.trim() && !state.dismissed) { pickLater(state); }
        else { close(state); }
        break;
      default:
        break;
    }
  }

  function onBlur(state) {
    close(state);
    if (state.pickOnArrival) { return; }  // the answer decides
    clearTimeout(state.timer);
    state.timer = null;
    if (!state.dirty) { return; }
    if (!state.input.value.trim()) {
      state.dirty = false;
      if (state.select.value) {
        state.select.value = "";
        state.select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    } else {
      restore(state);  // typed but not chosen: the account stays what it was
    }
  }

  function enhance(select) {
    if (select.hasAttribute("data-picker-ready")) { return; }
    select.setAttribute("data-picker-ready", "");
    var input = document.createElement("input");
    input.type = "text";
    input.id = (select.id || select.name) + "-picker";
    input.className = "form-control form-control-sm account-picker-input";
    if (select.classList.contains("is-invalid")) { input.classList.add("is-invalid"); }
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", LIST_ID);
    var state = {
      select: select, input: input, url: select.getAttribute("data-account-search"),
      results: [], more: false, query: null, index: -1, timer: null, controller: null,
      dirty: false, dismissed: false, pickOnArrival: false
    };
    input.placeholder = text(state, "placeholder", "Code or name…");
    input.setAttribute("aria-label", text(state, "label", "Account"));
    input.value = labelOf(select);
    input.title = input.value;
    select.classList.add("visually-hidden");
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");
    select.parentNode.insertBefore(input, select);
    select.accountPicker = state;
    input.addEventListener("input", function () {
      state.dirty = true;
      state.dismissed = false;
      awaiting(state, false);
      clearTimeout(state.timer);
      state.timer = setTimeout(function () { state.timer = null; search(state); }, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (e) { onKey(state, e); });
    input.addEventListener("blur", function () { onBlur(state); });
    input.addEventListener("focus", function () { input.select(); });
    // Another script changed the select (a cleared line): show it.
    select.addEventListener("change", function () { if (!state.dirty) { restore(state); } });
  }

  function enhanceAll(root) {
    (root || document).querySelectorAll("select[data-account-search]").forEach(enhance);
  }

  // The select changed under the picker (cleared, renumbered): show its account again.
  function sync(root) {
    (root || document).querySelectorAll("select[data-account-search]").forEach(function (select) {
      if (select.accountPicker) { restore(select.accountPicker); }
    });
  }

  window.TrastiendaAccountPicker = { enhance: enhanceAll, sync: sync };
  document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { enhanceAll(e.target); });
  window.addEventListener("resize", function () { if (current) { place(current); } });
  document.addEventListener("scroll", function (e) {
    if (current && e.target !== list) { place(current); }
  }, true);
})();
