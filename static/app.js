// DR Portal: the little the pages need beyond htmx. Everything works without
// it; this only reports failed background requests instead of failing silently.
(function () {
  "use strict";
  function banner(text) {
    var el = document.getElementById("client-error");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
  }
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    var rid = xhr.getResponseHeader("X-Request-Id");
    banner("The portal answered " + xhr.status + " to a background request" +
      (rid ? " (request id " + rid + ")" : "") + ". Reload the page to see the current state.");
  });
  document.addEventListener("htmx:sendError", function () {
    banner("The portal could not be reached. The page will catch up when the connection is back; reload to retry now.");
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful) {
      var el = document.getElementById("client-error");
      if (el && !el.hidden && e.detail.requestConfig && e.detail.requestConfig.verb === "get") el.hidden = true;
    }
  });
})();
