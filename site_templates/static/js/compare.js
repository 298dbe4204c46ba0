/* compare.html: show the columns of the cities selected in ?cities=a,b (2–4 cities),
   keep the URL in step with the checkboxes. Classic script, no innerHTML. */
(function () {
  "use strict";
  var form = document.getElementById("compare-form");
  if (!form) { return; }
  var max = parseInt(form.getAttribute("data-max"), 10) || 4;
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="cities"]'));
  var known = boxes.map(function (b) { return b.value; });
  var status = document.getElementById("compare-status");
  var names = {};
  boxes.forEach(function (b) {
    names[b.value] = b.getAttribute("data-name") || b.value;
  });

  function fromUrl() {
    var params = new URLSearchParams(window.location.search);
    var out = [];
    params.getAll("cities").forEach(function (value) {
      value.split(",").forEach(function (slug) {
        slug = slug.trim();
        if (slug && known.indexOf(slug) >= 0 && out.indexOf(slug) < 0) { out.push(slug); }
      });
    });
    if (!out.length) {
      out = (form.getAttribute("data-default") || "").split(",").filter(function (s) {
        return s && known.indexOf(s) >= 0;
      });
    }
    return out.slice(0, max);
  }

  function checked() {
    return boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
  }

  /* Key-figure tables: among the visible rows, mark those more than a year older than the
     newest (or undated among several); hide a table none of the selected cities has. */
  function updateWarnings() {
    var tables = document.querySelectorAll("[data-figure-table]");
    Array.prototype.forEach.call(tables, function (section) {
      var rows = Array.prototype.slice.call(section.querySelectorAll("tr[data-city]"));
      var visible = rows.filter(function (r) { return !r.hidden; });
      var months = visible.map(function (r) { return parseInt(r.getAttribute("data-m"), 10); })
        .filter(function (m) { return !isNaN(m); });
      var newest = months.length ? Math.max.apply(null, months) : NaN;
      var any = false;
      rows.forEach(function (r) {
        var m = parseInt(r.getAttribute("data-m"), 10);
        var warn = !r.hidden && (isNaN(m) ? visible.length >= 2 : (!isNaN(newest) && newest - m > 12));
        var mark = r.querySelector("[data-warn]");
        if (mark) { mark.hidden = !warn; }
        any = any || warn;
      });
      var note = section.querySelector("[data-warn-note]");
      if (note) { note.hidden = !any; }
      section.hidden = visible.length === 0;
    });
  }

  function apply(selected) {
    boxes.forEach(function (b) {
      b.checked = selected.indexOf(b.value) >= 0;
      b.disabled = !b.checked && selected.length >= max;
    });
    var blocks = document.querySelectorAll("[data-city]");
    Array.prototype.forEach.call(blocks, function (el) {
      el.hidden = selected.indexOf(el.getAttribute("data-city")) < 0;
    });
    updateWarnings();
    if (status) {
      var label = selected.map(function (s) { return names[s] || s; }).join("、");
      var text = "已选 " + selected.length + " 个城市" + (label ? "：" + label : "");
      if (selected.length < 2) { text += "（请至少选择 2 个）"; }
      if (selected.length >= max) { text += "（已达上限 " + max + " 个）"; }
      status.textContent = text;
    }
  }

  function writeUrl(selected) {
    var query = selected.length ? "?cities=" + selected.map(encodeURIComponent).join(",") : "";
    try {
      window.history.replaceState(null, "", window.location.pathname + query + window.location.hash);
    } catch (e) { /* some file:// contexts refuse; the selection still applies */ }
  }

  Array.prototype.forEach.call(form.querySelectorAll(".no-js-only"), function (el) { el.hidden = true; });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("change", function () {
    var selected = checked().slice(0, max);
    apply(selected);
    writeUrl(selected);
  });
  apply(fromUrl());
}());
