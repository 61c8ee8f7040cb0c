/* 新建项目: narrow the form to the chosen product and preview the schedule as the user types. */
$(function () {
  var products = JSON.parse($("#products-data").text() || "{}");
  var config = JSON.parse($("#preview-config").text() || "{}");
  var timer = null;

  function product() { return products[$("#product").val()] || null; }
  function money(v) { return Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2}); }

  function narrow() {
    var p = product();
    if (!p) { $("#product-hint").text(""); return; }
    var unit = p.period === "day" ? "天" : "个月";
    $("#product-hint").text("金额 " + money(p.min_amount) + "–" + money(p.max_amount) + " 元；期限 " + p.min_term + "–" +
      p.max_term + unit + "；年利率 " + p.min_rate + "%–" + p.max_rate + "%");
    var method = $("#method");
    method.find("option").each(function () {
      $(this).prop("disabled", p.methods.indexOf($(this).val()) < 0);
    });
    if (p.methods.indexOf(method.val()) < 0) { method.val(p.methods[0]).trigger("change.select2"); }
    $("#fixed_day").prop("disabled", !p.fixed_day_allowed);
  }

  function upfrontFees(p, amount) {
    var total = 0;
    (p.fees || []).forEach(function (f) {
      if (f.timing === "per_period") { return; }
      total += f.basis === "fixed" ? Number(f.value) : Math.round(amount * Number(f.value)) / 100;
    });
    return total.toFixed(2);
  }

  function preview() {
    var p = product();
    var amount = $("#amount").val(), term = $("#term").val(), rate = $("#annual_rate").val();
    if (!p || !amount || !term || !rate) { $("#preview-summary").hide(); return; }
    var body = {
      principal: amount, annual_rate: rate, term: term, method: $("#method").val(), start_date: $("#start_date").val(),
      period: p.period, day_basis: p.day_basis, interest_by_days: p.interest_by_days, rounding: p.rounding,
      fixed_day: $("#fixed_day").prop("disabled") ? null : ($("#fixed_day").val() || null),
      upfront_fees: upfrontFees(p, Number(amount))
    };
    $.ajax({url: config.url, type: "POST", contentType: "application/json", data: JSON.stringify(body)})
      .done(function (data) {
        var result = data.result || data;
        $("#preview-error").text("");
        $("#preview-interest").text(money(result.totals.interest));
        $("#preview-cost").text(result.totals.annualized_cost_rate || result.annualized_cost_rate || "—");
        var rows = result.installments.map(function (r) {
          return "<tr><td>" + r.seq + "</td><td>" + r.due_date + "</td><td class='ml-money'>" + money(r.principal) +
            "</td><td class='ml-money'>" + money(r.interest) + "</td><td class='ml-money'>" + money(r.total) + "</td></tr>";
        });
        $("#preview-rows").html(rows.join(""));
        $("#preview-summary").show();
      })
      .fail(function (xhr) {
        var message = "无法试算";
        try { var j = JSON.parse(xhr.responseText); message = j.message || (j.errors && j.errors[0]) || message; } catch (e) {}
        if (typeof message === "object") { message = Object.values(message).join("；"); }
        $("#preview-error").text(message);
        $("#preview-summary").hide();
      });
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(preview, 300); }
  $("#product").on("change", function () { narrow(); schedule(); });
  $("#amount, #term, #annual_rate, #start_date, #fixed_day").on("input change", schedule);
  $("#method").on("change", schedule);
  narrow();
  preview();
});
