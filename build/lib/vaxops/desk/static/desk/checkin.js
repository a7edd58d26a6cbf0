// The registration desk (desk/checkin.html).
(function () {
  // Keep the scan box focused so the next card or QR goes straight in; submit once per Enter.
  var box = document.getElementById("scan"), form = document.getElementById("scan-form"), sent = false;
  function refocus() { var a = document.activeElement; if (!a || a === document.body) box.focus(); }
  box.addEventListener("blur", function () { setTimeout(refocus, 300); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refocus(); });
  // Only a page brought back from the back/forward cache is reset: on a fresh load "pageshow" comes after
  // "load", and clearing then would wipe what the card reader already typed.
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) { sent = false; box.value = ""; box.focus(); }
  });
  form.addEventListener("submit", function (e) {
    if (sent || !box.value.trim()) { e.preventDefault(); return; }
    sent = true;
  });
  box.focus();
})();
