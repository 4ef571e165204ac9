// issue #11: the studio's video corner. Uses app.js's `state.styles` (the paintings chosen
// in step 2) and `showError`; everything else is its own: /api/videos, polling once a second.
"use strict";
(() => {
  const el = (id) => document.getElementById(id);
  let current = null;
  let timer = null;

  async function call(method, url, body) {
    const response = await fetch(url, { method, body });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
    return data;
  }

  function show(job) {
    const done = job.frames || 0;
    const total = job.total || 0;
    el("video-bar").style.width = total ? `${Math.min(100, (100 * done) / total)}%` : "0";
    const rate = job.fps ? `, ${job.fps} frames/s, ${Math.round(job.seconds_left)} s left` : "";
    const text = { queued: "queued", running: `frame ${done}${total ? " of " + total : ""}${rate}`,
      finished: `done: ${done} frames`, cancelled: job.message || "cancelled", failed: job.message || "failed" };
    el("video-status").textContent = `${job.name}: ${text[job.status] || job.status}`;
    if (job.urls.latest) {
      el("video-latest").src = `${job.urls.latest}?n=${done}`;
      el("video-latest").hidden = false;
    }
    const live = job.status === "queued" || job.status === "running";
    el("video-cancel").hidden = !live;
    el("video-start").disabled = live;
    el("video-download").hidden = job.status !== "finished";
    if (job.urls.result) el("video-download").href = job.urls.result;
    if (!live && timer) { clearInterval(timer); timer = null; }
  }

  async function poll() {
    if (!current) return;
    try { show(await call("GET", `/api/videos/${current}`)); } catch (e) { showError(e.message); }
  }

  el("video-start").addEventListener("click", async () => {
    const file = el("video-input").files[0];
    if (!file) { showError("choose a clip first"); return; }
    if (!state.styles.length) { showError("choose a painting in step 2 first"); return; }
    const form = new FormData();
    form.append("file", file);
    form.append("styles", state.styles.map((s) => s.id).join(","));
    form.append("temporal_weight", el("video-temporal").value);
    form.append("size", el("video-size").value);
    el("video-status").textContent = "uploading…";
    try {
      const job = await call("POST", "/api/videos", form);
      current = job.id;
      show(job);
      if (!timer) timer = setInterval(poll, 1000);
    } catch (e) { el("video-status").textContent = ""; showError(e.message); }
  });

  el("video-cancel").addEventListener("click", async () => {
    if (!current) return;
    try { show(await call("POST", `/api/videos/${current}/cancel`)); } catch (e) { showError(e.message); }
  });
})();
