// The vaccination desk's confirmation card (desk/vaccinate.html); the "other site" choice comes from
// data-site-other on the form.
(function () {
  var form = document.getElementById("confirm-form"), note = document.getElementById("site-note"), shown = document.getElementById("card-site");
  form.querySelectorAll("input[name=injection_site]").forEach(function (r) {
    r.addEventListener("change", function () {
      note.hidden = r.value !== form.dataset.siteOther;
      if (shown) shown.textContent = r.value;
    });
  });
  // The request id was made when this card was shown: a double tap or a resubmit sends the same one and
  // the server answers with the same dose. The button is also disabled after the first tap.
  form.addEventListener("submit", function () { setTimeout(function () { document.getElementById("administer").disabled = true; }, 0); });
  if (!document.querySelector("input[name=injection_site]:checked")) form.querySelector("input[name=injection_site]").focus();
})();
