// The live view of one command-line run (painterly run --watch): polls /api/watch.
"use strict";
(() => {
  const el = (id) => document.getElementById(id);
  let shown = -1;
  const clock = (seconds) => {
    const s = Math.max(0, Math.round(seconds));
    return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  const fmt = (x) => (Math.abs(x) >= 1000 || Math.abs(x) < 0.01 ? x.toExponential(2) : x.toFixed(3));

  function render(s) {
    el("watch-title").textContent = s.title;
    el("watch-step").textContent = `step ${s.step} / ${s.total}`;
    const status = el("watch-status");
    status.textContent = s.status; status.className = `badge ${s.status}`;
    const share = s.total ? Math.min(100, Math.round((100 * s.step) / s.total)) : 0;
    el("watch-bar").style.width = `${s.status === "finished" ? 100 : share}%`;
    el("watch-progress").setAttribute("aria-valuenow", String(share));
    const running = s.status === "running";
    el("watch-left").textContent = running && typeof s.seconds_left === "number" && s.step > 0 ? `about ${clock(s.seconds_left)} left` : "";
    el("watch-losses").textContent = Object.keys(s.losses).map((k) => `${k} ${fmt(s.losses[k])}`).join(" · ");
    el("watch-message").textContent = s.message || (running ? "" : s.status === "finished" ? `took ${s.elapsed.toFixed(1)} s` : "");
    if (s.preview !== shown && s.preview > 0) {
      shown = s.preview;
      el("watch-img").src = `/latest.png?v=${s.preview}`;
      el("watch-img").hidden = false;
    }
    document.body.dataset.status = s.status;
  }

  async function poll() {
    try {
      const response = await fetch("/api/watch", { cache: "no-store" });
      const s = await response.json();
      render(s);
      if (["running", "starting"].includes(s.status)) setTimeout(poll, 500);
    } catch (e) {
      // The run's process has ended and took its server with it.
      el("watch-message").textContent = "The run has ended (its live view closed with it).";
      document.body.dataset.status = document.body.dataset.status || "gone";
    }
  }
  poll();
})();
