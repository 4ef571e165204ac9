// portrait mode (issue #9): a selfie from the camera (getUserMedia, upload as fallback),
// what the studio found in the photo, and the portrait controls. Loaded after app.js and
// uses its helpers (api, choose, showError, state); the controls write into the settings
// form's own fields (portrait, face_strength, background_strength, keep_skin) just before
// a job starts, so jobs carry them like any other setting.
"use strict";

const portrait = { stream: null };

function cameraFallback(message) {
  const box = $("camera-fallback");
  box.textContent = `${message} Choose a photo with "Drop a photo here" above instead.`;
  box.hidden = false;
}

async function cameraStart() {
  $("camera-fallback").hidden = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    cameraFallback("This browser (or a page not served from localhost or https) offers no camera.");
    return;
  }
  try {
    portrait.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 } }, audio: false });
  } catch (e) {
    const why = e && e.name === "NotAllowedError" ? "Camera permission was refused." : e && e.name === "NotFoundError" ? "No camera was found." : `The camera could not be opened (${e && e.name ? e.name : e}).`;
    cameraFallback(why);
    return;
  }
  const video = $("camera-video");
  video.srcObject = portrait.stream;
  video.hidden = false;
  await video.play().catch(() => {});
  $("camera-snap").hidden = false; $("camera-stop").hidden = false; $("camera-start").hidden = true;
  $("camera-prompt").textContent = "Look at the camera, then take the photo.";
}

function cameraStop() {
  if (portrait.stream) portrait.stream.getTracks().forEach((t) => t.stop());
  portrait.stream = null;
  const video = $("camera-video");
  video.srcObject = null; video.hidden = true;
  $("camera-snap").hidden = true; $("camera-stop").hidden = true; $("camera-start").hidden = false;
}

async function cameraSnap() {
  const video = $("camera-video");
  if (!video.videoWidth) { showError("the camera has not started yet; try again in a moment"); return; }
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext("2d");
  // A selfie preview is mirrored by habit; the photo is not (text and parting stay the right way round).
  ctx.drawImage(video, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  cameraStop();
  const form = new FormData();
  form.append("file", blob, "selfie.jpg");
  try {
    const record = await api("POST", "/api/uploads", form);
    choose("content", record);
    $("portrait-on").checked = true;
    $("camera-prompt").textContent = "Got it: the selfie is the photo now. Pick a painting and start.";
    await portraitShow();
  } catch (e) { showError(e.message); }
}

async function portraitShow() {
  const found = $("portrait-found"), img = $("portrait-overlay");
  if (!state.content) { found.textContent = "Choose or take a photo first."; return; }
  found.textContent = "looking for the person and the faces…";
  try {
    const info = await api("POST", `/api/portrait/analyse/${state.content.id}`);
    const faces = info.faces === 1 ? "1 face" : `${info.faces} faces`;
    found.textContent = info.warning ? `${faces}: ${info.warning}` : `${faces} found; the person covers ${Math.round(100 * info.person_share)} % of the photo.`;
    found.dataset.faces = String(info.faces);
    img.src = `${info.overlay}?v=${Date.now()}`;
    img.hidden = false;
  } catch (e) { found.textContent = ""; showError(e.message); }
}

// Write the panel's values into the settings form (built by app.js) before a job starts.
function portraitSync() {
  const on = $("portrait-on").checked;
  const fields = (state.options && state.options.fields[state.mode]) || [];
  const has = (name) => fields.some((f) => f.name === name);
  const set = (name, value) => {
    const input = $(`f-${name}`);
    if (!input) return;
    if (input.type === "checkbox") input.checked = !!value; else input.value = value === null ? "" : String(value);
  };
  if (!has("portrait")) return;
  set("portrait", on);
  set("face_strength", on ? $("portrait-face").value : "");
  set("background_strength", on ? $("portrait-background").value : "");
  set("keep_skin", on && $("portrait-skin").checked);
}

function portraitInit() {
  $("camera-start").addEventListener("click", cameraStart);
  $("camera-stop").addEventListener("click", cameraStop);
  $("camera-snap").addEventListener("click", cameraSnap);
  $("portrait-show").addEventListener("click", portraitShow);
  for (const [id, out] of [["portrait-face", "portrait-face-value"], ["portrait-background", "portrait-background-value"]]) {
    $(id).addEventListener("input", () => { $(out).textContent = $(id).value; });
  }
  // capture phase on the document: runs before app.js's own click handler on #start reads the form
  document.addEventListener("click", (e) => { if (e.target && e.target.id === "start") portraitSync(); }, true);
  $("portrait-panel").dataset.ready = "1";
}

portraitInit();
