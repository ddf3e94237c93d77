// Copy-to-clipboard for every element with data-copy-target="<id>" or data-copy-text.
// Falls back to selecting the text when the Clipboard API is unavailable (plain http).
(function () {
  "use strict";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; },
        function () { return fallbackCopy(text); });
    }
    return Promise.resolve(fallbackCopy(text));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target], [data-copy-text]");
    if (!button) { return; }
    event.preventDefault();
    var text = button.getAttribute("data-copy-text");
    if (text === null) {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      text = target ? target.textContent.trim() : "";
    }
    copy(text).then(function (ok) {
      var label = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", label);
      button.setAttribute("data-copied", text);
      button.textContent = ok ? "Copied" : "Press Ctrl+C";
      window.setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
}());
