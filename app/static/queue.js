// Queue page: an API token entered once is kept in localStorage (never put in a URL) and sent as a Bearer header
// to cancel queued or running jobs.
(function () {
  "use strict";
  var KEY = "cbench.apiToken";
  var form = document.getElementById("token-form");
  if (!form) { return; }
  var message = document.getElementById("cancel-message");

  function token() { try { return window.localStorage.getItem(KEY) || ""; } catch (e) { return ""; } }

  function show() {
    var signedIn = token() !== "";
    document.getElementById("signed-in").hidden = !signedIn;
    document.getElementById("sign-in").hidden = signedIn;
    Array.prototype.forEach.call(document.querySelectorAll("button.cancel-job"), function (b) { b.hidden = !signedIn; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("token-input");
    var value = input.value.trim();
    input.value = "";
    if (value) { window.localStorage.setItem(KEY, value); }
    show();
  });
  document.getElementById("sign-out").addEventListener("click", function () {
    window.localStorage.removeItem(KEY);
    show();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.cancel-job");
    if (!button) { return; }
    var id = button.getAttribute("data-job-id");
    button.disabled = true;
    fetch("/api/v1/jobs/" + encodeURIComponent(id) + "/cancel", {
      method: "POST", headers: { Accept: "application/json", Authorization: "Bearer " + token() }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    }).then(function (result) {
      if (result.ok) {
        var row = button.closest("tr");
        var status = row.querySelector(".status");
        status.textContent = result.body.status;
        status.className = "status status-" + result.body.status;
        button.remove();
        message.textContent = "Job #" + id + " cancelled.";
      } else {
        button.disabled = false;
        message.textContent = "Job #" + id + ": " + (result.body.detail || ("HTTP " + result.status));
      }
    }).catch(function (error) {
      button.disabled = false;
      message.textContent = "Job #" + id + ": " + error;
    });
  });
  show();
})();
