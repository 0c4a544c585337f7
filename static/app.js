// DR Portal: the little the pages need beyond htmx. Everything works without
// it; this reports failed background requests instead of failing silently,
// tells screen readers when a live panel changes status, moves the focus
// from an error summary to the field it names, and keeps what a person
// opened, and a note, on a panel that refreshes itself.
(function () {
  "use strict";
  // What only makes sense with JavaScript (a live-update note) shows only then.
  document.documentElement.classList.add("js");
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
  // An error summary's links move the focus to their field (a link to a
  // fragment only scrolls to it).
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest(".error-summary a[data-field]");
    if (!a) return;
    var field = document.getElementById(a.getAttribute("data-field"));
    if (!field) return;
    e.preventDefault();
    field.focus();
    field.scrollIntoView({block: "center"});
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful) {
      var el = document.getElementById("client-error");
      if (el && !el.hidden && e.detail.requestConfig && e.detail.requestConfig.verb === "get") el.hidden = true;
    }
  });

  // Live panels (a task's status, a request's card) carry data-status and
  // the sentence to say when it changes (data-announce). The layout's one
  // polite live region says it; a panel that comes back unchanged says
  // nothing.
  var seen = {};
  function scan(announce) {
    var els = document.querySelectorAll("[data-announce-key]");
    for (var i = 0; i < els.length; i++) {
      var key = els[i].getAttribute("data-announce-key");
      var status = els[i].getAttribute("data-status");
      if (announce && key in seen && seen[key] !== status) {
        var live = document.getElementById("live-region");
        if (live) live.textContent = els[i].getAttribute("data-announce") || "";
      }
      seen[key] = status;
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(false); });
  } else {
    scan(false);
  }
  document.addEventListener("htmx:afterSettle", function () { scan(true); });
  // A response can ask for a sentence to be said (HX-Trigger "announce"),
  // such as what a list that was swapped in silently now offers.
  document.addEventListener("announce", function (e) {
    var live = document.getElementById("live-region");
    if (live && e.detail && e.detail.value) live.textContent = e.detail.value;
  });

  // A live panel that refreshes comes back with its disclosures closed and
  // without the note it was first shown with. What the person opened (a
  // <details> with an id) is opened again; a note (data-keep-while, the
  // status it was written for) is put back into the empty slot of the same
  // id while the panel's status is still that one. A navigation to another
  // page keeps nothing.
  // A region swapped while the focus was in it (a card whose button was
  // pressed) keeps the focus: on its note when it has one, else on itself,
  // rather than losing it to the page's body.
  var opened = [], notes = [], focusIn = "";
  document.addEventListener("htmx:beforeSwap", function (e) {
    opened = [];
    notes = [];
    focusIn = "";
    if (e.detail.boosted || e.detail.target === document.body) return;
    var t = e.detail.target;
    if (t && t.id && document.activeElement && document.activeElement !== document.body && t.contains(document.activeElement)) focusIn = t.id;
    var ds = document.querySelectorAll("details[id][open]");
    for (var i = 0; i < ds.length; i++) opened.push(ds[i].id);
    var ns = document.querySelectorAll("[data-keep-while][id]:not([hidden])");
    for (var j = 0; j < ns.length; j++) {
      notes.push({id: ns[j].id, el: ns[j], status: ns[j].getAttribute("data-keep-while")});
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    for (var i = 0; i < opened.length; i++) {
      var d = document.getElementById(opened[i]);
      if (d && d.tagName === "DETAILS" && !d.open) d.open = true;
    }
    for (var j = 0; j < notes.length; j++) {
      var n = notes[j], slot = document.getElementById(n.id);
      if (slot && slot !== n.el && slot.hidden && (n.status === "*" || slot.getAttribute("data-keep-while") === n.status)) {
        n.el.removeAttribute("role"); // said once already
        slot.replaceWith(n.el);
      }
    }
    var region = focusIn && document.getElementById(focusIn);
    if (region && (!document.activeElement || document.activeElement === document.body)) {
      var note = region.querySelector("[data-keep-while][tabindex]:not([hidden])");
      if (note) {
        note.focus();
      } else {
        if (!region.hasAttribute("tabindex")) region.setAttribute("tabindex", "-1");
        region.focus();
      }
    }
    opened = [];
    notes = [];
    focusIn = "";
  });
})();
