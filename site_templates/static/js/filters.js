/* filters.js — the search page on a phone: a 筛选 button at the top opens the filters
 * (the facets the search UI renders into .kb-sidebar), so the first result is on the first
 * screen. On wide screens the filters stay beside the results and the button is hidden (CSS).
 * Without JavaScript nothing is hidden. */
(function () {
  "use strict";
  var root = document.getElementById("kb-search");
  var button = document.getElementById("kb-filter-toggle");
  var panel = root && root.querySelector(".kb-sidebar");
  if (!root || !button || !panel) { return; }
  if (!panel.id) { panel.id = "kb-filters"; }
  button.setAttribute("aria-controls", panel.id);
  root.classList.add("filters-ready");
  button.hidden = false;

  function set(open) {
    root.classList.toggle("filters-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  set(false);
  button.addEventListener("click", function () {
    var open = !root.classList.contains("filters-open");
    set(open);
    if (open) {
      var first = panel.querySelector("button, a, input");
      if (first) { first.focus(); }
    }
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && root.classList.contains("filters-open")) {
      set(false);
      button.focus();
    }
  });
}());
