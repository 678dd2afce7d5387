// Every <time class="local-time" datetime="...Z"> is shown in the reader's local time with the zone named.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    timeZoneName: "short"
  });
  Array.prototype.forEach.call(document.querySelectorAll("time.local-time[datetime]"), function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    el.title = el.getAttribute("datetime") + " (UTC)";
    el.textContent = format.format(when);
    el.setAttribute("data-localized", "true");
  });
})();
