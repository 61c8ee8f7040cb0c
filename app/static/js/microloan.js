/* MicroLoan page helpers (no external resources). */

// An API write made with the session cookie must carry the page's CSRF token
// (app/security_headers.py): jQuery adds it to every same-origin non-GET call.
$.ajaxPrefilter(function (options, originalOptions, xhr) {
    if (!options.crossDomain && !/^(GET|HEAD|OPTIONS)$/i.test(options.type)) {
        var token = $('meta[name="csrf-token"]').attr("content");
        if (token) { xhr.setRequestHeader("X-CSRFToken", token); }
    }
});
$(function () {
    // AJAX record pickers: search as the user types instead of loading a whole table.
    $("select.ml-ajax-picker").each(function () {
        var elem = $(this);
        elem.select2({
            theme: "bootstrap",
            allowClear: true,
            placeholder: elem.data("placeholder") || "",
            minimumInputLength: 1,
            ajax: {
                url: elem.data("url"),
                dataType: "json",
                delay: 250,
                data: function (params) { return {q: params.term}; },
                processResults: function (data) { return {results: data.results}; }
            },
            language: {
                inputTooShort: function () { return "请输入至少 1 个字"; },
                noResults: function () { return "没有找到匹配的记录"; },
                searching: function () { return "正在搜索…"; },
                errorLoading: function () { return "无法加载搜索结果"; }
            }
        });
    });

    // The loan form's credit-line picker: only the lines of the customer chosen in #customer.
    $("select.ml-credit-line-picker").each(function () {
        var el = $(this), customer = $("#customer");
        el.select2({
            theme: "bootstrap", allowClear: true, placeholder: el.data("placeholder") || "", minimumInputLength: 0,
            ajax: {
                url: el.data("url"), dataType: "json", delay: 250,
                data: function (p) { return {q: p.term || "", customer: customer.val() || ""}; },
                processResults: function (data) { return {results: data.results}; }
            },
            language: {
                noResults: function () { return "该客户没有可用的授信"; },
                searching: function () { return "正在搜索…"; },
                errorLoading: function () { return "无法加载授信"; }
            }
        });
        customer.on("change", function () { el.val(null).trigger("change"); });
    });
    // Buttons that ask first (data-confirm) and, with data-submit-once, post their form only once:
    // no inline handlers, so the Content-Security-Policy needs no exception for them.
    $(document).on("click", "[data-confirm]", function (event) {
        var button = $(this);
        if (!window.confirm(button.data("confirm"))) {
            event.preventDefault();
            return false;
        }
        if (button.is("[data-submit-once]")) {
            event.preventDefault();
            button.prop("disabled", true);
            this.form.submit();
        }
        return true;
    });
});
