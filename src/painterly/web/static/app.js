// painterly studio: plain JS, no build step, nothing fetched from outside this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { options: null, mode: "optimise", content: null, styles: [], jobs: new Map(), viewing: null, history: [], compare: [] };

// --- errors: every failed request shows the server's JSON message -------------
function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 12000);
}

async function api(method, url, body) {
  const init = { method, headers: {} };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  let response;
  try { response = await fetch(url, init); } catch (e) { throw new Error("the studio server cannot be reached"); }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

// --- images -----------------------------------------------------------------
async function uploadFiles(files, kind) {
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const record = await api("POST", "/api/uploads", form);
      choose(kind, record);
    } catch (e) { showError(e.message); }
  }
}

function choose(kind, record) {
  if (kind === "content") state.content = record;
  else if (!state.styles.some((s) => s.id === record.id)) state.styles.push(record);
  renderChosen();
}

function chip(record, onRemove, what) {
  const div = document.createElement("div");
  div.className = "chip"; div.setAttribute("role", "listitem");
  const img = document.createElement("img");
  img.src = record.url; img.alt = record.label; img.title = `${record.label} (${record.width}×${record.height})`;
  div.appendChild(img);
  if (onRemove) {
    const x = document.createElement("button");
    x.type = "button"; x.textContent = "×"; x.title = "remove";
    x.setAttribute("aria-label", `remove ${what} ${record.label}`);
    x.addEventListener("click", (e) => { e.preventDefault(); e.stopPropagation(); onRemove(); });
    div.appendChild(x);
  }
  return div;
}

function renderChosen() {
  const c = $("content-chosen"), s = $("style-chosen");
  c.replaceChildren(); s.replaceChildren();
  // After a removal the focus would fall to <body>: put it back on the picker it belongs to.
  const refocus = (id) => () => { renderChosen(); $(id).focus(); };
  if (state.content) c.appendChild(chip(state.content, () => { state.content = null; refocus("content-input")(); }, "photo"));
  state.styles.forEach((rec, i) => s.appendChild(chip(rec, () => { state.styles.splice(i, 1); refocus("style-input")(); }, "painting")));
  $("content-chosen-text").textContent = state.content ? `Photo chosen: ${state.content.label}.` : "No photo chosen yet.";
  $("style-chosen-text").textContent = state.styles.length ? `Paintings chosen: ${state.styles.map((r) => r.label).join(", ")}.` : "No painting chosen yet.";
  $("start").disabled = !(state.content && state.styles.length);
}

function setupDrop(dropId, inputId, kind) {
  const drop = $(dropId), input = $(inputId);
  input.addEventListener("change", () => { uploadFiles([...input.files], kind); input.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    const files = [...e.dataTransfer.files];
    uploadFiles(kind === "content" ? files.slice(0, 1) : files, kind);
  });
}

function renderExamples() {
  const lists = state.options.examples;
  for (const [kind, target, key] of [["content", "content-examples", "content"], ["styles", "style-examples", "style"]]) {
    const box = $(target);
    box.replaceChildren();
    for (const ex of lists[kind] || []) {
      // A real button (focusable, Enter and Space work) around the thumbnail, named for screen readers.
      const button = document.createElement("button");
      button.type = "button"; button.className = "example"; button.dataset.example = ex.name;
      const what = key === "content" ? "photo" : "painting";
      button.setAttribute("aria-label", `use the example ${what} ${ex.name.replace(/_/g, " ")}`);
      button.title = `example: ${ex.name}`;
      const img = document.createElement("img");
      img.src = ex.url; img.alt = "";
      button.appendChild(img);
      button.addEventListener("click", async () => {
        try { choose(key, await api("POST", ex.url)); } catch (e) { showError(e.message); }
      });
      box.appendChild(button);
    }
  }
}

// --- settings form, built from /api/options ------------------------------------
function renderModes() {
  const box = $("modes");
  box.replaceChildren();
  const about = { fast: "one pass of a feed-forward network: a second or two", optimise: "Gatys optimisation: slower, finer, every knob" };
  for (const mode of ["fast", "optimise"]) {
    const label = document.createElement("label");
    const available = state.options.modes.includes(mode);
    label.innerHTML = `<input type="radio" name="mode" id="mode-${mode}" value="${mode}"> <b>${mode}</b><span class="muted">${available ? about[mode] : "not installed"}</span>`;
    const radio = label.querySelector("input");
    radio.disabled = !available;
    radio.checked = mode === state.mode;
    radio.addEventListener("change", () => { state.mode = mode; renderFields(); $(`mode-${mode}`).focus(); });
    box.appendChild(label);
  }
  [...box.children].forEach((l) => l.classList.toggle("on", l.querySelector("input").checked));
}

function renderPresets() {
  const select = $("preset");
  select.replaceChildren();
  for (const name of ["none", ...state.options.presets]) {
    const opt = document.createElement("option");
    opt.value = name === "none" ? "" : name; opt.textContent = name === "none" ? "— none (defaults) —" : name;
    select.appendChild(opt);
  }
  if (state.options.presets.includes("balanced")) select.value = "balanced";
}

function fieldInput(f) {
  const wrap = document.createElement("label");
  wrap.className = "field";
  const name = document.createElement("span");
  name.textContent = f.label;
  let input;
  if (f.kind === "choice") {
    input = document.createElement("select");
    for (const c of f.choices) { const o = document.createElement("option"); o.value = c; o.textContent = c; input.appendChild(o); }
    input.value = f.default;
  } else if (f.kind === "bool") {
    input = document.createElement("input"); input.type = "checkbox"; input.checked = !!f.default;
  } else {
    input = document.createElement("input");
    input.type = f.kind === "int" || f.kind === "float" ? "number" : "text";
    if (f.kind === "float") input.step = "any";
    input.placeholder = f.default === null ? "auto" : Array.isArray(f.default) ? f.default.join(",") || "default" : String(f.default);
  }
  input.name = f.name; input.id = `f-${f.name}`; input.dataset.kind = f.kind;
  const help = document.createElement("small");
  help.textContent = f.help; help.id = `h-${f.name}`;
  if (f.help) input.setAttribute("aria-describedby", help.id);
  wrap.append(name, input, help);
  return wrap;
}

function renderFields() {
  renderModes();
  const fields = state.options.fields[state.mode] || [];
  const primary = $("fields"), more = $("more-fields");
  primary.replaceChildren(); more.replaceChildren();
  for (const f of fields) {
    if (f.name === "preset") continue;  // the preset menu above sets it
    (f.primary ? primary : more).appendChild(fieldInput(f));
  }
  $("more").hidden = !more.children.length;
  $("preset-row").hidden = state.mode !== "optimise" || !state.options.presets.length;
  showPlan();
}

// --- what will run (issue #18): the server resolves preset + settings exactly as for a job ---
function showPlan() {
  clearTimeout(showPlan.timer);
  showPlan.timer = setTimeout(async () => {
    const box = $("plan");
    let plan;
    try {
      plan = await api("POST", "/api/plan", { mode: state.mode, preset: $("preset").value || null, settings: readSettings() });
    } catch (e) { box.textContent = `These settings will not run: ${e.message}`; box.classList.add("bad"); return; }
    box.classList.remove("bad");
    const iterations = $("f-iterations");
    if (plan.mode === "fast") { box.textContent = "One pass of the fast network."; return; }
    const scales = plan.scales.length > 1 ? `: ${plan.scales.map((s) => `${s.steps} at ${s.size} px`).join(", ")}` : ` at ${plan.size} px`;
    box.textContent = `This run: ${plan.total_steps} steps${scales}.`;
    box.dataset.steps = String(plan.total_steps);
    if (iterations && !iterations.value) {
      iterations.placeholder = plan.preset && plan.preset !== "none" ? `${plan.total_steps} in all (${plan.preset})` : String(plan.iterations);
    }
  }, 150);
}

function readSettings() {
  const settings = {};
  for (const input of document.querySelectorAll("#advanced [data-kind]")) {
    const kind = input.dataset.kind;
    if (kind === "bool") { settings[input.name] = input.checked; continue; }
    if (kind === "choice") {
      const f = state.options.fields[state.mode].find((x) => x.name === input.name);
      if (f && input.value !== String(f.default)) settings[input.name] = input.value;
      continue;
    }
    const text = input.value.trim();
    if (!text) continue;
    if (kind === "int" || kind === "float") settings[input.name] = Number(text);
    else if (kind === "list") settings[input.name] = text.split(",").map((t) => t.trim()).filter(Boolean);
    else settings[input.name] = text;
  }
  for (const f of state.options.fields[state.mode] || []) {
    if (f.kind === "bool" && settings[f.name] === !!f.default) delete settings[f.name];
  }
  return settings;
}

function loadSettings(job) {
  const request = job.request || {};
  state.mode = request.mode || job.mode;
  renderFields();
  $("preset").value = request.preset || "";
  for (const [name, value] of Object.entries(request.settings || {})) {
    const input = $(`f-${name}`);
    if (!input) continue;
    if (input.type === "checkbox") input.checked = !!value;
    else input.value = Array.isArray(value) ? value.join(",") : value === null ? "" : value;
  }
  $("advanced").open = Object.keys(request.settings || {}).length > 0;
  state.content = { id: job.content, url: job.urls.content, label: "photo", width: "?", height: "?" };
  state.styles = job.styles.map((id, i) => ({ id, url: job.urls.styles[i], label: "painting", width: "?", height: "?" }));
  renderChosen();
  window.scrollTo({ top: 0, behavior: "smooth" });
}

async function start() {
  const body = { mode: state.mode, content: state.content.id, styles: state.styles.map((s) => s.id), settings: readSettings() };
  if (state.mode === "optimise" && $("preset").value) body.preset = $("preset").value;
  try {
    const job = await api("POST", "/api/jobs", body);
    upsertJob(job);
    view(job.id, true);
  } catch (e) { showError(e.message); }
}

// --- the live panel ---------------------------------------------------------------
async function view(id, focus) {
  state.viewing = id;
  if (focus) {
    // Keep the result on screen (on a phone the live panel is far below the gallery) and
    // move the keyboard there too.
    $("live").scrollIntoView({ block: "start" });
    $("live-heading").focus({ preventScroll: true });
  }
  try {
    const job = await api("GET", `/api/jobs/${id}`);
    state.history = job.history || [];
    upsertJob(job);
  } catch (e) { showError(e.message); }
}

function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function canResume(job) {
  return job.mode === "optimise" && ["interrupted", "stopped"].includes(job.status) && job.has_result && job.step > 0 && job.step < job.total_steps;
}

// The before/after slider: the result covers the photo from the left up to the slider's value.
function applyCompare() {
  const value = Number($("compare").value);
  $("live-img").style.clipPath = `inset(0 ${100 - value}% 0 0)`;
  $("compare").setAttribute("aria-valuetext", value === 100 ? "result only" : value === 0 ? "photo only" : `${value} % result, ${100 - value} % photo`);
}

function fmt(x) { return x === undefined ? "" : Math.abs(x) >= 1000 || Math.abs(x) < 0.01 ? x.toExponential(2) : x.toFixed(3); }

function renderLive() {
  const job = state.jobs.get(state.viewing);
  const focusInside = $("live").contains(document.activeElement) && document.activeElement !== $("live-heading");
  $("live-empty").hidden = !!job; $("live-job").hidden = !job;
  if (!job) return;
  const ended = !["queued", "running"].includes(job.status);
  $("live-title").textContent = `${job.mode} · ${job.request.preset || "custom"} · ${job.config.size || ""} px`;
  const status = $("live-status");
  status.textContent = job.status === "queued" && job.position ? `queued · #${job.position} in line` : job.status;
  status.className = `badge ${job.status}`;
  const total = job.total_steps || 1;
  $("live-bar").style.width = `${Math.round(100 * (ended && job.status === "finished" ? 1 : job.step / total))}%`;
  $("live-step").textContent = job.mode === "fast" ? (ended ? "done" : "painting…") : `step ${job.step} / ${total}`;
  const left = job.status === "running" && typeof job.seconds_left === "number" && job.step > 0 ? job.seconds_left : null;
  $("live-left").textContent = left === null ? "" : `· about ${clock(left)} left`;
  const losses = job.losses || {};
  $("live-losses").textContent = Object.keys(losses).map((k) => `${k} ${fmt(losses[k])}`).join(" · ");
  const img = $("live-img");
  const src = job.has_result ? `${job.urls.result}?v=${job.ended || job.step}` : job.status === "running" && job.preview_at ? `${job.urls.latest}?v=${job.preview_at}` : job.urls.content;
  if (img.getAttribute("src") !== src) img.src = src;
  const before = $("live-before");
  if (before.getAttribute("src") !== job.urls.content) before.src = job.urls.content;
  applyCompare();
  $("cancel").hidden = ended;
  $("resume").hidden = !canResume(job);
  const dl = $("download");
  dl.hidden = !job.has_result;
  if (job.has_result) dl.href = job.urls.download;
  $("tweak").hidden = !ended; $("again").hidden = !ended;
  $("live-message").textContent = job.message || (job.timings && job.timings.total ? `took ${job.timings.total.toFixed(1)} s` : "");
  drawChart();
  // A button that just hid itself (Cancel once the job stops) must not drop the keyboard
  // focus to the top of the page: hand it to what comes next (Carry on, Run again).
  const active = document.activeElement;
  if (focusInside && (active === document.body || active.hidden)) {
    const next = ["resume", "again", "download"].map($).find((el) => !el.hidden);
    (next || $("live-heading")).focus({ preventScroll: true });
  }
}

function drawChart() {
  const canvas = $("chart"), ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const rows = state.history;
  canvas.hidden = !rows.length;
  if (!rows.length) return;
  const keys = ["total", "content", "style", "tv"].filter((k) => rows.some((r) => r[k] > 0));
  const colours = { total: "#2b2622", content: "#3c6fb4", style: "#b4532a", tv: "#6b8e23" };
  let lo = Infinity, hi = -Infinity;
  for (const r of rows) for (const k of keys) if (r[k] > 0) { const v = Math.log10(r[k]); lo = Math.min(lo, v); hi = Math.max(hi, v); }
  lo = Math.max(lo, hi - 4);  // at most four decades: a near-zero first content loss would flatten the rest
  if (hi - lo < 1e-6) { hi += 0.5; lo -= 0.5; }
  const maxStep = Math.max(rows[rows.length - 1].step, 1);
  const x = (s) => 36 + (w - 46) * (s / maxStep), y = (v) => 10 + (h - 28) * (1 - (Math.max(v, lo) - lo) / (hi - lo));
  ctx.font = "11px system-ui"; ctx.fillStyle = "#857b72";
  ctx.fillText(`1e${hi.toFixed(1)}`, 2, 14); ctx.fillText(`1e${lo.toFixed(1)}`, 2, h - 18); ctx.fillText("step", w - 30, h - 4);
  keys.forEach((k, i) => {
    ctx.strokeStyle = colours[k]; ctx.lineWidth = k === "total" ? 2 : 1.2; ctx.beginPath();
    let started = false;
    for (const r of rows) if (r[k] > 0) { const px = x(r.step), py = y(Math.log10(r[k])); if (started) ctx.lineTo(px, py); else { ctx.moveTo(px, py); started = true; } }
    ctx.stroke();
    ctx.fillStyle = colours[k]; ctx.fillText(k, 44 + i * 60, h - 4);
  });
}

// --- gallery ----------------------------------------------------------------------
// Each record carries seq: the server's event number it is as new as (an event's own number,
// or for an answer to a request the last number before the record was read). An answer that
// arrives after a later event for its job is older than what the page holds: drop it, or a
// Cancel's answer ("running") could undo the "stopped" that came before it.
function upsertJob(job, seq = job.seq) {
  const old = state.jobs.get(job.id) || {};
  if (typeof seq === "number" && typeof old.seq === "number" && seq < old.seq) return;
  state.jobs.set(job.id, { ...old, ...job, seq: typeof seq === "number" ? seq : old.seq });
  renderGallery();
  if (job.id === state.viewing) renderLive();
}

function renderGallery() {
  const box = $("gallery");
  const jobs = [...state.jobs.values()].sort((a, b) => b.created - a.created);
  box.replaceChildren();
  if (!jobs.length) { box.innerHTML = '<p class="muted">No runs yet.</p>'; return; }
  for (const job of jobs) {
    const card = document.createElement("div");
    card.className = "card"; card.dataset.job = job.id;
    const thumb = document.createElement("div");
    thumb.className = "thumb";
    thumb.style.backgroundImage = `url(${job.has_result ? job.urls.thumb + "?v=" + (job.ended || 0) : job.urls.content})`;
    const place = job.status === "queued" && job.position ? ` #${job.position}` : "";
    thumb.innerHTML = `<span class="badge ${job.status}">${job.status}${place}</span>`;
    thumb.setAttribute("role", "img");
    thumb.setAttribute("aria-label", `${job.has_result ? "result" : "photo"} of the ${job.mode} run from ${new Date(job.created * 1000).toLocaleString()}`);
    thumb.addEventListener("click", () => view(job.id, true));
    const meta = document.createElement("div");
    meta.className = "meta";
    const c = job.config || {};
    const when = new Date(job.created * 1000).toLocaleString();
    const detail = describeJob(job);
    meta.innerHTML = `<div><b>${job.mode}</b> · ${when}</div><div class="muted"></div>`;
    meta.querySelector(".muted").textContent = detail;
    meta.title = JSON.stringify(job.request.settings);
    const actions = document.createElement("div");
    actions.className = "actions";
    const button = (text, fn) => { const b = document.createElement("button"); b.textContent = text; b.addEventListener("click", fn); actions.appendChild(b); return b; };
    button("View", () => view(job.id, true));
    if (canResume(job)) button("Carry on", () => resume(job.id));
    if (!["queued", "running"].includes(job.status)) {
      button("Run again", () => rerun(job.id));
      button("Tweak", () => loadSettings(job));
    }
    if (!["queued", "running"].includes(job.status)) button("Delete", () => remove(job.id));
    if (job.has_result) {
      const a = document.createElement("a"); a.className = "button"; a.textContent = "Download"; a.href = job.urls.download; a.setAttribute("download", "");
      actions.appendChild(a);
    }
    if (job.has_result) {
      const pick = document.createElement("label");
      pick.className = "pick";
      const tick = document.createElement("input");
      tick.type = "checkbox"; tick.className = "compare-tick"; tick.checked = state.compare.includes(job.id);
      tick.addEventListener("change", () => toggleCompare(job.id, tick.checked));
      pick.append(tick, " Compare");
      actions.appendChild(pick);
    }
    card.append(thumb, meta, actions);
    box.appendChild(card);
  }
  renderSideBySide();
}

// One line that says what ran: the steps are the job's own count (a preset's schedule), not
// the config's default iterations (issue #18).
function describeJob(job) {
  const c = job.config || {};
  if (job.mode === "fast") return `fast · ${c.size}px · strength ${c.strength}`;
  return `${job.request.preset || "custom"} · ${c.size}px · ${job.total_steps} steps · β ${c.style_weight}`;
}

function toggleCompare(id, on) {
  state.compare = state.compare.filter((x) => x !== id);
  if (on) state.compare.push(id);
  if (state.compare.length > 2) state.compare = state.compare.slice(-2);  // the newest two picks
  const show = state.compare.length === 2 && $("side-by-side").hidden;
  renderGallery();
  const tick = document.querySelector(`#gallery .card[data-job="${id}"] .pick input`);
  if (show) { $("side-by-side").scrollIntoView({ block: "start" }); $("side-heading").focus({ preventScroll: true }); }
  else if (tick) tick.focus();
}

function renderSideBySide() {
  const jobs = state.compare.map((id) => state.jobs.get(id)).filter((j) => j && j.has_result);
  const panel = $("side-by-side");
  panel.hidden = jobs.length !== 2;
  if (panel.hidden) return;
  const pair = $("pair");
  const key = jobs.map((j) => `${j.id}:${j.ended}`).join("|");
  if (pair.dataset.key === key) return;
  pair.dataset.key = key;
  pair.replaceChildren();
  for (const job of jobs) {
    const figure = document.createElement("figure");
    const img = document.createElement("img");
    img.src = `${job.urls.result}?v=${job.ended || 0}`;
    img.alt = `result of the ${describeJob(job)} run`;
    const caption = document.createElement("figcaption");
    const settings = Object.entries(job.request.settings || {}).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(",") : v}`).join(" · ");
    caption.textContent = `${describeJob(job)}${settings ? " · " + settings : ""}`;
    const paintings = document.createElement("span");
    paintings.className = "minis";
    for (const url of job.urls.styles) {
      const mini = document.createElement("img");
      mini.src = url; mini.alt = "painting used";
      paintings.appendChild(mini);
    }
    caption.prepend(paintings);
    figure.append(img, caption);
    pair.appendChild(figure);
  }
}

async function remove(id) {
  if (!window.confirm("Delete this run and its pictures?")) return;
  try {
    await api("DELETE", `/api/jobs/${id}`);
    state.jobs.delete(id);
    if (state.viewing === id) state.viewing = null;
    renderGallery(); renderLive();
  } catch (e) { showError(e.message); }
}

async function resume(id) {
  try { upsertJob(await api("POST", `/api/jobs/${id}/resume`)); view(id, true); } catch (e) { showError(e.message); }
}

async function rerun(id) {
  try { const job = await api("POST", `/api/jobs/${id}/rerun`); upsertJob(job); view(job.id); } catch (e) { showError(e.message); }
}

// --- live stream --------------------------------------------------------------------
function connect() {
  const source = new EventSource("/api/events");
  source.onmessage = (msg) => {
    const event = JSON.parse(msg.data);
    const seq = Number(msg.lastEventId) || undefined;
    if (event.type === "job") upsertJob(event.job, seq);
    else if (event.type === "deleted") {
      state.jobs.delete(event.id);
      if (state.viewing === event.id) state.viewing = null;
      renderGallery(); renderLive();
    }
    else if (event.type === "queue") {
      for (const job of state.jobs.values()) job.position = event.positions[job.id] || null;
      renderGallery(); renderLive();
    } else if (event.type === "progress") {
      const job = state.jobs.get(event.id);
      if (!job || (seq && job.seq > seq)) return;  // the page already holds a newer record
      job.step = event.step; job.total_steps = event.total; job.status = "running";
      if (seq) job.seq = seq;
      if (typeof event.seconds_left === "number") job.seconds_left = event.seconds_left;
      if (Object.keys(event.losses).length) job.losses = event.losses;
      if (event.preview) job.preview_at = `${event.step}-${Date.now()}`;
      if (event.id === state.viewing) {
        if (Object.keys(event.losses).length) state.history.push({ step: event.step, ...event.losses });
        renderLive();
      }
    }
  };
  source.onerror = () => { /* EventSource reconnects by itself; refresh the list once it does */ };
  source.onopen = () => refresh();
}

async function refresh() {
  try {
    const data = await api("GET", "/api/jobs");
    for (const job of data.jobs) upsertJob(job);
  } catch (e) { showError(e.message); }
}

async function main() {
  setupDrop("content-drop", "content-input", "content");
  setupDrop("style-drop", "style-input", "style");
  $("start").addEventListener("click", start);
  $("cancel").addEventListener("click", async () => {
    try { upsertJob(await api("POST", `/api/jobs/${state.viewing}/cancel`)); } catch (e) { showError(e.message); }
  });
  $("again").addEventListener("click", () => rerun(state.viewing));
  $("resume").addEventListener("click", () => resume(state.viewing));
  $("compare").addEventListener("input", applyCompare);
  $("side-close").addEventListener("click", () => { state.compare = []; renderGallery(); $("gallery-panel").querySelector("h2").scrollIntoView(); });
  for (const id of ["preset", "advanced"]) $(id).addEventListener("input", showPlan);
  $("advanced").addEventListener("change", showPlan);
  $("tweak").addEventListener("click", () => loadSettings(state.jobs.get(state.viewing)));
  try { state.options = await api("GET", "/api/options"); } catch (e) { showError(e.message); return; }
  state.mode = state.options.modes.includes("fast") ? "fast" : "optimise";
  renderExamples(); renderPresets(); renderFields(); renderChosen();
  await refresh();
  connect();
  document.body.dataset.ready = "1";
}

main();
