// The consent screen (desk/consent.html).
(function () {
  // The signature pad: pointer events (finger, stylus or mouse) draw on the canvas; on submit its PNG goes
  // into the hidden field.
  var canvas = document.getElementById("sig-pad"), ctx = canvas.getContext("2d"), drawn = false, last = null;
  var field = document.getElementById("signature"), form = document.getElementById("sign-form");
  function fit() {
    var ratio = Math.min(window.devicePixelRatio || 1, 2), r = canvas.getBoundingClientRect();
    canvas.width = Math.round(r.width * ratio); canvas.height = Math.round(r.height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
    drawn = false; field.value = "";
  }
  function at(e) { var r = canvas.getBoundingClientRect(); return {x: e.clientX - r.left, y: e.clientY - r.top}; }
  canvas.addEventListener("pointerdown", function (e) {
    e.preventDefault(); canvas.setPointerCapture(e.pointerId); last = at(e);
    ctx.beginPath(); ctx.arc(last.x, last.y, 1.2, 0, 2 * Math.PI); ctx.fill(); drawn = true;
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!last) return;
    e.preventDefault();
    var p = at(e); ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke(); last = p; drawn = true;
  });
  function end() { last = null; if (drawn) field.value = canvas.toDataURL("image/png"); }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  document.getElementById("sig-clear").addEventListener("click", function () { fit(); });
  form.addEventListener("submit", function (e) {
    if (e.submitter && e.submitter.name === "refused") return;
    if (!drawn) { e.preventDefault(); document.getElementById("sig-missing").hidden = false; return; }
    field.value = canvas.toDataURL("image/png");
    document.getElementById("sign").disabled = true;
  });
  window.addEventListener("resize", function () { if (!drawn) fit(); });
  fit();
})();
