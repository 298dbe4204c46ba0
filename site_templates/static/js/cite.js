/* cite.js — copy a GB/T 7714 citation in one click.
 *
 * Every [data-cite] button (document pages, passage cards, compare.js's cells) holds a
 * citation template made by kb/cite.py with two slots, "{url}" (the address of the cited
 * page or passage, data-cite-href, made absolute against this page's address) and
 * "{accessed}" (the 引用日期, today). Elements with data-cite-show display the filled text.
 * One delegated click handler, so buttons added later (compare.js) work too. No innerHTML.
 */
(function () {
  "use strict";
  var KBPages = window.KBPages = window.KBPages || {};

  function today() {
    var d = new Date();
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate());
  }

  /* The absolute address of a link; when the site was built with --base-url (body
     data-site-url), the published address even if this copy is opened elsewhere. */
  function absolute(href) {
    var here = window.location.href.split("#")[0];
    var abs;
    try { abs = href ? new URL(href, here).href : here; } catch (e) { return href; }
    var site = document.body.getAttribute("data-site-url");
    if (site) {
      var root = new URL(document.body.getAttribute("data-root") || "./", here).href;
      if (abs.indexOf(root) === 0) { return new URL(abs.slice(root.length), site).href; }
    }
    return abs;
  }

  KBPages.absolute = absolute;

  /* The citation of a template and a (relative) address, with today's date. */
  KBPages.citation = function (template, href) {
    return String(template || "").split("{url}").join(absolute(href))
      .split("{accessed}").join(today());
  };

  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  status.id = "cite-status";
  document.body.appendChild(status);

  function say(button, text) {
    status.textContent = text;
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  /* Copy plain text; falls back to a selected, off-screen textarea and execCommand. */
  KBPages.copyText = function (text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; },
        function () { return fallback(text); });
    }
    return Promise.resolve(fallback(text));
  };

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-cite-show]"), function (el) {
    el.textContent = KBPages.citation(el.getAttribute("data-cite-show"), el.getAttribute("data-cite-href"));
  });
  Array.prototype.forEach.call(document.querySelectorAll("button[data-cite]"), function (b) {
    b.hidden = false;
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-cite]");
    if (!button) { return; }
    var text = KBPages.citation(button.getAttribute("data-cite"), button.getAttribute("data-cite-href"));
    button.setAttribute("data-copied", text);
    KBPages.copyText(text).then(function (ok) {
      say(button, ok ? "已复制引文" : "复制失败，请手动选择");
    });
  });
}());
