// Behaviour shared by every staff page, attached from data- attributes (the Content-Security-Policy allows no
// inline script or onclick=…): a button with data-print prints the page.
(function () {
  function bind(root) {
    root.querySelectorAll("[data-print]").forEach(function (button) {
      if (button.dataset.printBound) return;
      button.dataset.printBound = "1";
      button.addEventListener("click", function () { window.print(); });
    });
    // "全部否": every yes/no question of the button's form answered "no" (the screener then checks each).
    root.querySelectorAll("[data-all-no]").forEach(function (button) {
      if (button.dataset.allNoBound) return;
      button.dataset.allNoBound = "1";
      button.addEventListener("click", function () {
        var form = button.closest("form");
        if (!form) return;
        form.querySelectorAll('input[type=radio][value="no"]').forEach(function (radio) { radio.checked = true; });
      });
    });
  }
  // The header's drop-down groups: one open at a time, closed by a click elsewhere or Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("nav.menu details[open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("nav.menu details[open]").forEach(function (d) { d.removeAttribute("open"); });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { bind(document); });
  } else {
    bind(document);
  }
})();
