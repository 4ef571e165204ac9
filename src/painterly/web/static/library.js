// Style library picker (issue #10): the bundled and imported paintings as thumbnails grouped by
// movement, with artist search. A click adds a painting as a style (via /api/library/use, which
// turns it into an upload); a movement's or artist's button adds its works (blend) or its
// representative. Several picks make a blend. Uses app.js's api(), choose() and showError().
"use strict";

const library = { data: null, loading: null };

function libraryText(s) { return (s || "").toLowerCase(); }

async function libraryUse(names) {
  const group = document.getElementById("library-group").value;
  try {
    const data = await api("POST", "/api/library/use", { names, group });
    for (const up of data.uploads) choose("style", up);
  } catch (e) { showError(e.message); }
}

function libraryButton(label, title, names) {
  const b = document.createElement("button");
  b.type = "button"; b.className = "library-use"; b.textContent = label; b.title = title;
  b.addEventListener("click", () => libraryUse(names));
  return b;
}

function renderLibrary() {
  const query = libraryText(document.getElementById("library-search").value.trim());
  const box = document.getElementById("library-movements");
  const artistsBox = document.getElementById("library-artists");
  box.replaceChildren(); artistsBox.replaceChildren();
  if (!library.data) return;
  if (query) {
    for (const a of library.data.artists) {
      if (!libraryText(a.artist + " " + a.name).includes(query)) continue;
      artistsBox.appendChild(libraryButton(`${a.artist} (${a.count})`, `use ${a.query}`, [a.query]));
    }
  }
  for (const m of library.data.movements) {
    const hitMovement = !query || libraryText(m.name.replace(/_/g, " ")).includes(query);
    const works = m.works.filter((w) => hitMovement || libraryText(`${w.artist} ${w.title} ${w.id}`).includes(query));
    if (!works.length) continue;
    const group = document.createElement("div");
    group.className = "library-group"; group.dataset.movement = m.name;
    const head = document.createElement("div");
    head.className = "library-head";
    const name = document.createElement("span");
    name.textContent = m.name.replace(/_/g, " ");
    head.appendChild(name);
    head.appendChild(libraryButton(`use all ${m.works.length}`, `use ${m.query}`, [m.query]));
    group.appendChild(head);
    const thumbs = document.createElement("div");
    thumbs.className = "examples library-thumbs";
    for (const w of works) {
      // issue #18: a button around each thumbnail, so Tab reaches it and Enter or Space picks it.
      const button = document.createElement("button");
      button.type = "button"; button.className = "example"; button.dataset.work = w.id;
      button.title = `${w.title} — ${w.artist}, ${w.year}`;
      button.setAttribute("aria-label", `use ${w.title} by ${w.artist}`);
      const img = document.createElement("img");
      img.src = w.thumb; img.alt = ""; img.loading = "lazy";
      button.appendChild(img);
      button.addEventListener("click", () => libraryUse([w.id]));
      thumbs.appendChild(button);
    }
    group.appendChild(thumbs);
    box.appendChild(group);
  }
}

async function loadLibrary() {
  if (library.data || library.loading) return library.loading;
  library.loading = (async () => {
    try { library.data = await api("GET", "/api/library"); renderLibrary(); }
    catch (e) { showError(e.message); }
    finally { library.loading = null; }
  })();
  return library.loading;
}

(function setupLibrary() {
  const details = document.getElementById("library");
  if (!details) return;
  details.addEventListener("toggle", () => { if (details.open) loadLibrary(); });
  document.getElementById("library-search").addEventListener("input", () => {
    if (!details.open) details.open = true;
    renderLibrary();
  });
})();
