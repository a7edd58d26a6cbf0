// Behaviour shared by every staff page, attached from data- attributes (the Content-Security-Policy allows no
// inline script or onclick=…): a button with data-print prints the page.
(function () {
  function bind(root) {
    root.querySelectorAll("[data-print]").forEach(function (button) {
      if (button.dataset.printBound) return;
      button.dataset.printBound = "1";
      button.addEventListener("click", function () { window.print(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { bind(document); });
  } else {
    bind(document);
  }
})();
