/* AIR Portal's one script: toasts, plotly figures, dialogs. No inline scripts anywhere (CSP). */
(function () {
  "use strict";

  function dismissToasts(root) {
    root.querySelectorAll(".toast:not([data-timed])").forEach(function (toast) {
      toast.dataset.timed = "1";
      setTimeout(function () { toast.remove(); }, 6000);
    });
  }

  /* A chart is <div data-plotly="ID"> next to {{ figure|json_script:ID }}. */
  function renderCharts(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll("[data-plotly]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      var source = document.getElementById(el.dataset.plotly);
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      var config = Object.assign({ displaylogo: false, responsive: true }, figure.config || {});
      if (el.dataset.topojson) { config.topojsonURL = el.dataset.topojson; }
      window.Plotly.newPlot(el, figure.data, figure.layout || {}, config);
      el.dataset.rendered = "1";
    });
  }

  /* <button data-dialog-open="ID"> opens <dialog id="ID">; [data-dialog-close] closes its dialog.
     One dialog can serve many buttons: data-dialog-post / data-dialog-target aim its form (hx-post,
     hx-target) and data-dialog-heading replaces the text of its [data-dialog-heading]. */
  function aimDialog(dialog, opener) {
    var form = dialog.querySelector("form");
    if (!form || !opener.dataset.dialogPost) { return; }
    form.reset();
    form.setAttribute("hx-post", opener.dataset.dialogPost);
    if (opener.dataset.dialogTarget) { form.setAttribute("hx-target", opener.dataset.dialogTarget); }
    var heading = dialog.querySelector("[data-dialog-heading]");
    if (heading && opener.dataset.dialogHeading) { heading.textContent = opener.dataset.dialogHeading; }
    if (window.htmx) { window.htmx.process(form); }
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog) { aimDialog(dialog, opener); dialog.showModal(); }
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var parent = closer.closest("dialog");
      if (parent) { parent.close(); }
    }
  });

  /* <input type=checkbox data-check-all="NAME"> ticks every checkbox named NAME of its form. */
  document.addEventListener("change", function (event) {
    var master = event.target.closest && event.target.closest("[data-check-all]");
    if (!master || !master.form) { return; }
    /* form.elements also holds the boxes outside the <form> that name it with form="…". */
    Array.prototype.forEach.call(master.form.elements, function (box) {
      if (box.type === "checkbox" && box.name === master.dataset.checkAll) { box.checked = master.checked; }
    });
  });

  /* htmx: show server messages (HX-Trigger "toast") and close dialogs after a successful POST. */
  document.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (detail.level || "info");
    toast.setAttribute("role", "status");
    toast.textContent = detail.message || "";
    document.getElementById("toasts").appendChild(toast);
    dismissToasts(document);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog");
    if (dialog && event.detail.successful) { dialog.close(); }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var message = "Request failed (" + xhr.status + ")";
    try { message = JSON.parse(xhr.responseText).detail || message; } catch (e) { /* not JSON */ }
    document.dispatchEvent(new CustomEvent("toast", { detail: { level: "error", message: message } }));
  });

  function init(root) { dismissToasts(root); renderCharts(root); }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
