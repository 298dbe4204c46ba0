/* Document pages: the "复制引文" button copies the GB/T 7714 citation text. */
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-copy-target]");
  Array.prototype.forEach.call(buttons, function (button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (!target) { return; }
    button.hidden = false;
    function say(text) { if (status) { status.textContent = text; } }
    function fallback(text) {
      var range = document.createRange();
      range.selectNodeContents(target);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      say(ok ? "已复制" : "已选中引文，请按 Ctrl+C 复制");
    }
    button.addEventListener("click", function () {
      var text = target.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { say("已复制"); },
          function () { fallback(text); });
      } else {
        fallback(text);
      }
    });
  });
}());
