// Leaderboard: client-side sorting by header click, column chooser, filters; the view state stays in the URL.
(function () {
  "use strict";
  var table = document.getElementById("leaderboard");
  if (!table) { return; }
  var form = document.getElementById("filters");

  function currentParams() { return new URLSearchParams(window.location.search); }

  function syncLinks(params) {
    var qs = params.toString();
    var suffix = qs ? "?" + qs : "";
    document.getElementById("export-csv").href = "/leaderboard.csv" + suffix;
    document.getElementById("export-json").href = "/leaderboard.json" + suffix;
  }

  function setParam(name, value, fallback) {
    var params = currentParams();
    if (value === fallback || value === "") { params.delete(name); } else { params.set(name, value); }
    history.replaceState(null, "", window.location.pathname + (params.toString() ? "?" + params : ""));
    syncLinks(params);
  }

  function cellValue(row, col) {
    var cell = row.querySelector('[data-col="' + col + '"]');
    return cell ? cell.getAttribute("data-value") : "";
  }

  function sortBy(col, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.hasAttribute("data-model-id"); });
    var text = col === "name";
    rows.sort(function (a, b) {
      var x = cellValue(a, col), y = cellValue(b, col);
      if (x === "" && y === "") { return 0; }
      if (x === "") { return 1; }
      if (y === "") { return -1; }
      var order = text ? x.localeCompare(y, undefined, { numeric: true }) : parseFloat(x) - parseFloat(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row, i) { row.querySelector(".rank").textContent = String(i + 1); body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var on = th.getAttribute("data-col") === col;
      th.classList.toggle("sorted", on);
      if (on) { th.setAttribute("aria-sort", descending ? "descending" : "ascending"); } else { th.removeAttribute("aria-sort"); }
    });
    var sort = (descending ? "-" : "") + col;
    table.setAttribute("data-sort", sort);
    form.elements.namedItem("sort").value = sort;
    setParam("sort", sort, "-avg");
  }

  table.tHead.addEventListener("click", function (event) {
    var th = event.target.closest("th.sortable");
    if (!th) { return; }
    event.preventDefault();
    var col = th.getAttribute("data-col");
    var current = table.getAttribute("data-sort");
    var descending = current === "-" + col ? false : current === col ? true : col !== "name";
    sortBy(col, descending);
  });

  // Column chooser: the server recomputes the average over the chosen columns, so reload with the new state.
  Array.prototype.forEach.call(document.querySelectorAll(".col-toggle"), function (box) {
    box.addEventListener("change", function () {
      var chosen = Array.prototype.filter.call(document.querySelectorAll(".col-toggle"), function (b) { return b.checked; })
        .map(function (b) { return b.value; });
      var params = currentParams();
      if (chosen.length) { params.set("cols", chosen.join(",")); } else { params.delete("cols"); }
      window.location.search = params.toString();
    });
  });

  // Metric toggle and selects apply at once; empty fields are left out of the URL.
  Array.prototype.forEach.call(form.querySelectorAll('input[name="metric"], input[name="unscored"], select'), function (el) {
    el.addEventListener("change", function () { form.requestSubmit(); });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value !== "" && !(key === "metric" && value === "micro") && !(key === "sort" && value === "-avg")) {
        params.set(key, value);
      }
    });
    window.location.search = params.toString();
  });
})();
