// Toasts for htmx responses: the server sends HX-Trigger {"toast": {"message", "level"}}.
(function () {
  "use strict";
  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (level || "info");
    toast.setAttribute("role", level === "error" ? "alert" : "status");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    toast.appendChild(text);
    toast.appendChild(close);
    box.appendChild(toast);
    if (level !== "error") setTimeout(function () { toast.remove(); }, 6000);
  }
  document.addEventListener("click", function (event) {
    if (event.target.classList && event.target.classList.contains("toast-close")) event.target.parentElement.remove();
  });
  document.addEventListener("toast", function (event) { showToast(event.detail.message, event.detail.level); });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr.getResponseHeader("HX-Trigger")) showToast("Request failed (" + xhr.status + ").", "error");
  });
  document.addEventListener("htmx:sendError", function () { showToast("The server did not answer; check the connection.", "error"); });
  // Page-wide progress bar while any htmx request is in flight.
  document.addEventListener("htmx:beforeRequest", function () { document.body.classList.add("is-busy"); });
  document.addEventListener("htmx:afterRequest", function () { document.body.classList.remove("is-busy"); });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast:not(.toast-error)").forEach(function (t) { setTimeout(function () { t.remove(); }, 6000); });
    // On a phone the menu starts closed; on a desk it is always open.
    var toggle = document.querySelector(".nav-toggle");
    if (toggle && window.matchMedia("(max-width: 760px)").matches) toggle.removeAttribute("open");
  });
})();
