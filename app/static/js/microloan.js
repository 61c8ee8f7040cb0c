/* MicroLoan page helpers (no external resources). */
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
});
