// patentmatch console: a little plain JavaScript, no outside assets.
(function () {
  "use strict";
  // Forms that ask before they act (deactivate a colleague, close a need).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  // The monthly report's print button (the page has a print style sheet).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  // Open-licence form: say which statutory cap the entered terms break before submitting;
  // the server checks again and has the last word.
  var declare = document.getElementById("declare");
  if (declare) {
    var preview = document.getElementById("declare-preview");
    var maxFee = Number(declare.dataset.maxFee);
    var caps = { sales_royalty: Number(declare.dataset.maxSales), entry_fee_royalty: Number(declare.dataset.maxSales),
                 profit_royalty: Number(declare.dataset.maxProfit) };
    var check = function () {
      var mode = declare.elements.payment_mode.value;
      var fee = Number((declare.elements.fee_yuan.value || "0").replace(/,/g, ""));
      var rate = Number((declare.elements.royalty_rate_percent.value || "0").replace("%", ""));
      var problems = [];
      if ((mode === "lump_sum" || mode === "entry_fee_royalty") && fee > maxFee) problems.push("fee > " + maxFee.toLocaleString());
      if (caps[mode] && rate > caps[mode]) problems.push("rate > " + caps[mode] + "%");
      preview.textContent = problems.length ? "⚠ " + problems.join("; ") : "";
      preview.className = problems.length ? "hint bad" : "hint";
    };
    declare.addEventListener("input", check);
    declare.addEventListener("change", check);
  }
})();
