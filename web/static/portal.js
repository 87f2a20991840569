/* onelicense portal: how every htmx request's answer is shown, configured once for the whole portal.
 *
 * htmx 2 swaps only 2xx/3xx answers by default, so a refused request (a 422 upload, a 413 oversized file) would
 * change nothing on the page. Here: a refused request's HTML fragment is swapped in where the user acted, as for a
 * success; a refusal that is not a fragment (a whole error page, the JSON of a request refused before any route)
 * is shown as its message next to the element that sent it; a server error (5xx) or a lost connection shows a
 * generic Chinese message there. Served from /static (the CSP allows no inline script). */
(function () {
  "use strict";

  var SERVER_ERROR = "服务器暂时无法处理，请稍后重试（已填写的内容不会丢失）。";
  var NETWORK_ERROR = "网络连接失败，请检查网络后重试（已填写的内容不会丢失）。";
  var REFUSED = "请求未被接受，请检查后重试。";

  function isFragment(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    var body = (xhr.responseText || "").trimStart().slice(0, 15).toLowerCase();
    return type.indexOf("text/html") === 0 && body !== "" && body.indexOf("<!doctype") !== 0 && body.indexOf("<html") !== 0;
  }

  function messageOf(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = xhr.responseText || "";
    if (type.indexOf("json") !== -1) {
      try {
        var detail = JSON.parse(text).detail;
        if (typeof detail === "string" && detail) return detail;
      } catch (ignored) { /* not JSON after all: fall through */ }
    }
    if (type.indexOf("text/html") === 0) {  // one of our error pages: its message is the alert
      var page = new DOMParser().parseFromString(text, "text/html");
      var alert = page.querySelector("main [role=alert]") || page.querySelector("main h1");
      if (alert && alert.textContent.trim()) return alert.textContent.trim();
    }
    return REFUSED;
  }

  // the message sits right after the element that sent the request (its form, for a form's button)
  function anchorOf(elt) {
    if (!elt || !elt.isConnected) return null;
    return elt.tagName === "BUTTON" && elt.form ? elt.form : elt;
  }

  function clear(elt) {
    var anchor = anchorOf(elt);
    var next = anchor && anchor.nextElementSibling;
    if (next && next.hasAttribute("data-request-problem")) next.remove();
  }

  function show(elt, message) {
    var anchor = anchorOf(elt) || document.querySelector("main");
    if (!anchor) return;
    clear(elt);
    var box = document.createElement("p");
    box.className = "field-error";
    box.setAttribute("role", "alert");
    box.setAttribute("data-request-problem", "");
    box.textContent = message;
    if (anchor.tagName === "MAIN") anchor.prepend(box);
    else anchor.after(box);
  }

  document.addEventListener("htmx:beforeRequest", function (event) { clear(event.detail.elt); });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail.xhr.status;
    if (status < 400) return;
    detail.shouldSwap = false;
    if (status < 500 && isFragment(detail.xhr)) {  // the route answered with the fragment for its own target
      detail.shouldSwap = true;
      detail.isError = false;
      return;
    }
    // detail.elt is the swap's target here; the element the person used is the request's own
    var source = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    show(source, status >= 500 ? SERVER_ERROR : messageOf(detail.xhr));
  });

  document.addEventListener("htmx:sendError", function (event) { show(event.detail.elt, NETWORK_ERROR); });
  document.addEventListener("htmx:timeout", function (event) { show(event.detail.elt, NETWORK_ERROR); });
})();
