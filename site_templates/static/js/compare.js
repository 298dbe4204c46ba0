/* compare.html: 2–4 cities side by side, instrument by instrument, then their key figures.
 *
 * The selection lives in ?cities=a,b (checkboxes and URL kept in step). Each city's cells
 * and figures are a small data file, compare/<slug>.js (`KBPages.register(name, data)`, made
 * by kb/render.py), loaded with a <script> tag — this works from file:// where fetch() of
 * local files does not. The comparison the user built exports as CSV (UTF-8 BOM, Excel-safe)
 * and as a table to paste into a memo (HTML for Word, Markdown), each cell with its GB/T 7714
 * citation (cite.js's KBPages.citation). Classic script, no innerHTML.
 */
(function () {
  "use strict";
  var form = document.getElementById("compare-form");
  if (!form) { return; }
  var KBPages = window.KBPages = window.KBPages || {};
  var store = KBPages.data = KBPages.data || Object.create(null);
  var waiters = Object.create(null);
  KBPages.register = function (name, payload) {
    store[name] = payload;
    (waiters[name] || []).forEach(function (resolve) { resolve(payload); });
    delete waiters[name];
  };
  function load(name) {
    if (store[name]) { return Promise.resolve(store[name]); }
    return new Promise(function (resolve, reject) {
      (waiters[name] = waiters[name] || []).push(resolve);
      var s = document.createElement("script");
      s.src = name;
      s.onerror = function () { reject(new Error("无法载入 " + name)); };
      document.head.appendChild(s);
    });
  }

  var max = parseInt(form.getAttribute("data-max"), 10) || 4;
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="cities"]'));
  var known = boxes.map(function (b) { return b.value; });
  var status = document.getElementById("compare-status");
  var sections = Array.prototype.slice.call(document.querySelectorAll(".compare-section"));
  var figuresBox = document.getElementById("compare-figures");
  var gapMonths = parseInt(figuresBox.getAttribute("data-gap-months"), 10) || 12;
  var tools = document.getElementById("compare-tools");
  var exportStatus = document.getElementById("export-status");
  var names = {};
  boxes.forEach(function (b) { names[b.value] = b.getAttribute("data-name") || b.value; });
  var current = [];   /* the loaded data of the selected cities, in selection order */
  var generation = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "hidden") { node.hidden = !!attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

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

  /* ---------------------------------------------------------------- instrument cells */

  function cellColumn(city, section) {
    var inst = section.getAttribute("data-inst");
    var label = section.getAttribute("data-label");
    var cell = city.cells[inst];
    var col = el("section", { "class": "column", "data-city": city.slug,
                              "aria-label": city.name + " · " + label });
    var h = el("h3");
    h.appendChild(city.url ? el("a", { href: city.url }, city.name) : document.createTextNode(city.name));
    h.appendChild(document.createTextNode(" "));
    h.appendChild(el("span", { "class": "count" }, (cell ? cell.n : 0) + " 条"));
    col.appendChild(h);
    if (!cell) {
      col.appendChild(el("p", { "class": "muted" }, "暂无相关段落。"));
      return col;
    }
    cell.items.forEach(function (item) {
      var art = el("article", { "class": "passage" });
      art.appendChild(el("p", { "class": "passage-text" }, item.s));
      var meta = el("p", { "class": "passage-meta" });
      var src = el("span", { "class": "source" }, "出处：");
      src.appendChild(el("a", { "class": "permalink", href: item.u, title: "打开原文中的这一段" }, item.t));
      if (item.d) { src.appendChild(document.createTextNode("（" + item.d + "）")); }
      meta.appendChild(src);
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(el("button", { type: "button", "class": "cite-button", "data-cite": item.c,
                                      "data-cite-href": item.u }, "复制引用"));
      art.appendChild(meta);
      col.appendChild(art);
    });
    if (cell.n > 1 && cell.all) {  /* every cell links to all its passages */
      var more = el("p", { "class": "more" });
      more.appendChild(el("a", { href: cell.all }, "查看全部 " + cell.n + " 条"));
      col.appendChild(more);
    }
    return col;
  }

  function drawCells(cities) {
    sections.forEach(function (section) {
      var inst = section.getAttribute("data-inst");
      var grid = section.querySelector("[data-grid]");
      while (grid.firstChild) { grid.removeChild(grid.firstChild); }
      var total = 0;
      cities.forEach(function (city) {
        total += city.cells[inst] ? city.cells[inst].n : 0;
        grid.appendChild(cellColumn(city, section));
      });
      section.hidden = total === 0;
      var toc = document.querySelector('[data-toc="' + inst + '"]');
      if (toc) {
        toc.hidden = total === 0;
        var count = toc.querySelector("[data-toc-count]");
        if (count) { count.textContent = String(total); }
      }
    });
  }

  /* ---------------------------------------------------------------- key figures */

  function drawFigures(cities) {
    while (figuresBox.firstChild) { figuresBox.removeChild(figuresBox.firstChild); }
    var order = [];
    var byKey = Object.create(null);
    cities.forEach(function (city) {
      city.figures.forEach(function (f) {
        if (!byKey[f.key]) { byKey[f.key] = { label: f.label, rows: [] }; order.push(f.key); }
        byKey[f.key].rows.push({ city: city, f: f });
      });
    });
    if (!order.length) {
      figuresBox.appendChild(el("p", { "class": "muted" }, "所选城市暂无抽取到的关键数字。"));
      return;
    }
    order.forEach(function (key) {
      var group = byKey[key];
      var months = group.rows.map(function (r) { return r.f.m; }).filter(function (m) { return m !== null; });
      var newest = months.length ? Math.max.apply(null, months) : null;
      var scopes = {};
      group.rows.forEach(function (r) { scopes[r.f.scope || "city"] = true; });
      var box = el("section", { "class": "figure-compare", "data-figure": key, "aria-labelledby": "fig-" + key });
      box.appendChild(el("h3", { id: "fig-" + key }, group.label));
      var anyWarn = false;
      var wrap = el("div", { "class": "table-scroll", role: "region", tabindex: "0",
                             "aria-label": group.label + " · 数据表" });
      var table = el("table", { "class": "figures" });
      var head = el("tr");
      ["城市", "数值", "单位", "所指（原文）", "时点", "出处"].forEach(function (t) {
        head.appendChild(el("th", { scope: "col" }, t));
      });
      table.appendChild(el("thead")).appendChild(head);
      var body = el("tbody");
      group.rows.forEach(function (r) {
        var f = r.f;
        var warn = f.m === null ? group.rows.length >= 2 : (newest !== null && newest - f.m > gapMonths);
        anyWarn = anyWarn || warn;
        var tr = el("tr", { "data-city": r.city.slug });
        var th = el("th", { scope: "row" });
        th.appendChild(r.city.url ? el("a", { href: r.city.url + "#h-figures" }, r.city.name)
          : document.createTextNode(r.city.name));
        tr.appendChild(th);
        tr.appendChild(el("td", { "class": "num" }, (f.qualifier ? f.qualifier + " " : "") + f.value));
        tr.appendChild(el("td", null, f.unit));
        tr.appendChild(el("td", { "class": "measure" }, f.what + (f.scope ? "（" + f.scope + "）" : "")));
        var when = el("td", null, (f.as_of || "—") + " ");
        var mark = el("span", { "class": "warn-mark", "data-warn": "", hidden: !warn });
        mark.appendChild(el("span", { "aria-hidden": "true" }, "⚠"));
        mark.appendChild(el("span", { "class": "visually-hidden" }, "时点相差一年以上或不明"));
        when.appendChild(mark);
        tr.appendChild(when);
        var src = el("td");
        if (f.url) { src.appendChild(el("a", { href: f.url }, "段落")); }
        if (f.others) {
          src.appendChild(document.createTextNode(" · "));
          src.appendChild(el("a", { href: r.city.url + "#h-figures" }, "另有 " + f.others + " 条"));
        }
        tr.appendChild(src);
        body.appendChild(tr);
      });
      table.appendChild(body);
      wrap.appendChild(table);
      if (Object.keys(scopes).length > 1) {
        box.appendChild(el("p", { "class": "note warn-note", "data-scope-note": "" },
          "⚠ 口径不同：有的数字是全市合计，有的只是单个机构或基金，不能直接比大小。"));
      }
      box.appendChild(el("p", { "class": "note warn-note", "data-warn-note": "", hidden: !anyWarn },
        "⚠ 所比较数字的时点相差一年以上（或时点不明）。"));
      box.appendChild(wrap);
      figuresBox.appendChild(box);
    });
  }

  /* ---------------------------------------------------------------- export */

  function matrix() {
    /* [{label, cells: [{city, n, items: [{s, u, cite}]}]}] for the visible instruments */
    return sections.filter(function (s) { return !s.hidden; }).map(function (section) {
      var inst = section.getAttribute("data-inst");
      return {
        label: section.getAttribute("data-label"),
        cells: current.map(function (city) {
          var cell = city.cells[inst];
          return { city: city.name, n: cell ? cell.n : 0,
                   items: (cell ? cell.items : []).map(function (it) {
                     return { s: it.s, u: KBPages.absolute(it.u), cite: KBPages.citation(it.c, it.u) };
                   }) };
        })
      };
    });
  }

  function csvField(value) {
    var text = String(value === undefined || value === null ? "" : value);
    if (/^[=+\-@\t\r]/.test(text)) { text = "'" + text; }   /* no formula in Excel */
    return '"' + text.replace(/"/g, '""') + '"';
  }

  function toCsv(rows) {
    var lines = [["政策工具", "城市", "段落数", "相关句", "出处（GB/T 7714）", "段落链接"]];
    rows.forEach(function (row) {
      row.cells.forEach(function (cell) {
        if (!cell.items.length) { lines.push([row.label, cell.city, cell.n, "", "", ""]); }
        cell.items.forEach(function (it) { lines.push([row.label, cell.city, cell.n, it.s, it.cite, it.u]); });
      });
    });
    return "\ufeff" + lines.map(function (l) { return l.map(csvField).join(","); }).join("\r\n") + "\r\n";
  }

  function mdEscape(text) { return String(text).replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\s+/g, " "); }

  function toMarkdown(rows) {
    var cities = current.map(function (c) { return c.name; });
    var out = ["| 政策工具 | " + cities.map(mdEscape).join(" | ") + " |",
               "| --- | " + cities.map(function () { return "---"; }).join(" | ") + " |"];
    rows.forEach(function (row) {
      out.push("| " + mdEscape(row.label) + " | " + row.cells.map(function (cell) {
        if (!cell.items.length) { return "—"; }
        return cell.items.map(function (it) { return mdEscape(it.s + "（出处：" + it.cite + "）"); }).join("<br>")
          + (cell.n > cell.items.length ? "<br>（共 " + cell.n + " 条）" : "");
      }).join(" | ") + " |");
    });
    return out.join("\n") + "\n";
  }

  function toTable(rows) {
    var table = el("table", { border: "1" });
    var head = el("tr");
    head.appendChild(el("th", null, "政策工具"));
    current.forEach(function (c) { head.appendChild(el("th", null, c.name)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr");
      tr.appendChild(el("th", null, row.label));
      row.cells.forEach(function (cell) {
        var td = el("td");
        if (!cell.items.length) { td.textContent = "—"; }
        cell.items.forEach(function (it) {
          var p = el("p", null, it.s);
          p.appendChild(el("br"));
          p.appendChild(el("small", null, "出处：" + it.cite));
          td.appendChild(p);
        });
        if (cell.n > cell.items.length) { td.appendChild(el("p", null, "（共 " + cell.n + " 条）")); }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }

  function fileName(ext) {
    return "城市对比-" + current.map(function (c) { return c.name; }).join("-") + "." + ext;
  }

  function copyHtml(table, plain) {
    if (navigator.clipboard && window.ClipboardItem && window.isSecureContext) {
      var item = new window.ClipboardItem({
        "text/html": new Blob([table.outerHTML], { type: "text/html" }),
        "text/plain": new Blob([plain], { type: "text/plain" })
      });
      return navigator.clipboard.write([item]).then(function () { return true; },
        function () { return selectAndCopy(table); });
    }
    return Promise.resolve(selectAndCopy(table));
  }

  function selectAndCopy(table) {
    var holder = el("div", { "class": "offscreen" });
    holder.appendChild(table);
    document.body.appendChild(holder);
    var range = document.createRange();
    range.selectNodeContents(holder);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    sel.removeAllRanges();
    document.body.removeChild(holder);
    return ok;
  }

  function report(ok, what) { exportStatus.textContent = ok ? "已复制" + what : "复制失败"; }

  document.getElementById("export-csv").addEventListener("click", function () {
    var blob = new Blob([toCsv(matrix())], { type: "text/csv;charset=utf-8" });
    var a = el("a", { href: URL.createObjectURL(blob), download: fileName("csv") });
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    exportStatus.textContent = "已生成 " + fileName("csv");
  });
  document.getElementById("export-html").addEventListener("click", function () {
    var rows = matrix();
    copyHtml(toTable(rows), toMarkdown(rows)).then(function (ok) { report(ok, "表格，可粘贴到 Word"); });
  });
  document.getElementById("export-md").addEventListener("click", function () {
    KBPages.copyText(toMarkdown(matrix())).then(function (ok) { report(ok, " Markdown 表格"); });
  });
  KBPages.compareExport = { csv: function () { return toCsv(matrix()); },
                            markdown: function () { return toMarkdown(matrix()); },
                            html: function () { return toTable(matrix()).outerHTML; } };

  /* ---------------------------------------------------------------- selection */

  function apply(selected) {
    boxes.forEach(function (b) {
      b.checked = selected.indexOf(b.value) >= 0;
      b.disabled = !b.checked && selected.length >= max;
    });
    if (status) {
      var label = selected.map(function (s) { return names[s] || s; }).join("、");
      var text = "已选 " + selected.length + " 个城市" + (label ? "：" + label : "");
      if (selected.length < 2) { text += "（请至少选择 2 个）"; }
      if (selected.length >= max) { text += "（已达上限 " + max + " 个）"; }
      status.textContent = text;
    }
    if (picked) {
      picked.textContent = selected.length ? "（已选：" + selected.map(function (s) { return names[s] || s; }).join("、") + "）" : "";
    }
    var mine = ++generation;
    Promise.all(selected.map(function (slug) { return load("compare/" + encodeURIComponent(slug) + ".js"); }))
      .then(function (cities) {
        if (mine !== generation) { return; }
        current = cities;
        drawCells(cities);
        drawFigures(cities);
        tools.hidden = cities.length === 0;
        document.body.setAttribute("data-compare-ready", selected.join(","));
      }, function (error) {
        if (status) { status.textContent = String(error.message || error); }
      });
  }

  function writeUrl(selected) {
    var query = selected.length ? "?cities=" + selected.map(encodeURIComponent).join(",") : "";
    try {
      window.history.replaceState(null, "", window.location.pathname + query + window.location.hash);
    } catch (e) { /* some file:// contexts refuse; the selection still applies */ }
  }

  Array.prototype.forEach.call(form.querySelectorAll(".no-js-only"), function (node) { node.hidden = true; });
  /* On a phone the picker folds once a comparison is shown, so the comparison comes first. */
  var picker = document.getElementById("compare-picker");
  var picked = document.getElementById("compare-picked");
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("change", function () {
    var selected = checked().slice(0, max);
    apply(selected);
    writeUrl(selected);
  });
  var initial = fromUrl();
  if (picker && initial.length >= 2 && window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) {
    picker.open = false;
  }
  apply(initial);
}());
