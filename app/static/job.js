// Job page: while the job is queued or running, poll the JSON API and update status and progress in place.
(function () {
  "use strict";
  var section = document.getElementById("job-status");
  if (!section || section.getAttribute("data-final") === "true") { return; }
  var api = section.getAttribute("data-api");
  var FINAL = ["succeeded", "failed", "cancelled"];

  function render(job) {
    var status = document.getElementById("status");
    status.textContent = job.status;
    status.className = "status status-" + job.status;
    document.getElementById("attempts").textContent = String(job.attempts);
    var bar = document.getElementById("progress");
    var total = job.progress_total || 0;
    bar.max = total || 1;
    bar.value = total ? job.progress_done : (job.status === "succeeded" ? 1 : 0);  // full only when done
    document.getElementById("progress-text").textContent = total ? job.progress_done + " / " + total : String(job.progress_done);
    var estimate = document.getElementById("estimate");
    if (estimate && job.estimate) {
      var e = job.estimate;
      document.getElementById("estimate-acc").textContent = e.acc.toFixed(2) + "%";
      document.getElementById("estimate-ci").textContent = e.ci_low.toFixed(2) + "–" + e.ci_high.toFixed(2);
      document.getElementById("estimate-n").textContent = e.n.toLocaleString("en-US") + " of " + e.population.toLocaleString("en-US");
      estimate.hidden = false;
    }
    var error = document.getElementById("error");
    error.textContent = job.error || "";
    error.hidden = !job.error;
    if (FINAL.indexOf(job.status) >= 0) {
      section.setAttribute("data-final", "true");
      document.getElementById("live-note").hidden = true;
      document.getElementById("done-note").hidden = false;
      return true;
    }
    return false;
  }

  function poll() {
    fetch(api, { headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (job) { if (!render(job)) { window.setTimeout(poll, 2000); } })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
