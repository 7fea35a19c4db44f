// GAN Paint page: brush strokes become edits of the JSON API (see ganscope/paint/app.py).
// No framework and no build step; everything is served by `ganscope paint`.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  size: 0,           // the generator's image side S
  concepts: [],
  seed: 0,
  edits: [],         // the stroke history sent with every request
  stroke: null,      // the S×S 0/1 mask of the stroke being drawn
  renders: 0,        // finished refreshes (tests wait on it)
  imageUrl: null,
  request: 0,        // id of the latest refresh; older answers are dropped
};

function setStatus(text, error = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

async function api(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    let reason = res.statusText;
    try { reason = (await res.json()).error || reason; } catch (e) { /* not JSON */ }
    throw new Error(reason);
  }
  return res;
}

function concept() {
  const checked = document.querySelector('input[name="concept"]:checked');
  return checked ? checked.value : state.concepts[0];
}

function mode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

async function blobUrl(res) {
  return URL.createObjectURL(await res.blob());
}

function replaceSrc(img, url) {
  const old = img.dataset.url;
  img.src = url;
  img.dataset.url = url;
  if (old) URL.revokeObjectURL(old);
}

async function refresh() {
  const id = ++state.request;
  const body = { seed: state.seed, edits: state.edits };
  const plain = { seed: state.seed, edits: [] };
  const c = concept();
  $("undo").disabled = $("reset").disabled = state.edits.length === 0;
  $("edit-count").textContent = String(state.edits.length);
  setStatus("rendering…");
  document.body.dataset.busy = "1";
  try {
    const t0 = performance.now();
    const [img, before, maskBefore, maskAfter, fracBefore, fracAfter] = await Promise.all([
      api("/api/edit", body).then(blobUrl),
      api("/api/edit", plain).then(blobUrl),
      api("/api/mask", { ...plain, concept: c }).then(blobUrl),
      api("/api/mask", { ...body, concept: c }).then(blobUrl),
      api("/api/segment", plain).then((r) => r.json()),
      api("/api/segment", body).then((r) => r.json()),
    ]);
    if (id !== state.request) return;  // a newer refresh is on its way
    replaceSrc($("image"), img);
    replaceSrc($("after-image"), img);
    replaceSrc($("before-image"), before);
    replaceSrc($("before-mask"), maskBefore);
    replaceSrc($("after-mask"), maskAfter);
    $("download").href = img;
    $("download").download = `ganpaint_seed${state.seed}.png`;
    const pct = (f) => `${(100 * f.fractions[c]).toFixed(1)}% of pixels`;
    $("before-frac").textContent = pct(fracBefore);
    $("after-frac").textContent = pct(fracAfter);
    document.querySelectorAll(".concept-name").forEach((el) => { el.textContent = c; });
    setStatus(`seed ${state.seed}: ${state.edits.length} strokes (${Math.round(performance.now() - t0)} ms)`);
    state.renders += 1;
    document.body.dataset.renders = String(state.renders);
  } catch (err) {
    setStatus(`error: ${err.message}`, true);
  } finally {
    if (id === state.request) document.body.dataset.busy = "0";
  }
  clearOverlay();
}

// --- brushing -------------------------------------------------------------------------------
const canvas = $("paint");
const ctx = canvas.getContext("2d");

function clearOverlay() { ctx.clearRect(0, 0, canvas.width, canvas.height); }

function toImage(ev) {
  const r = canvas.getBoundingClientRect();
  return [(ev.clientX - r.left) / r.width * state.size, (ev.clientY - r.top) / r.height * state.size];
}

function dab(ev) {
  const [cx, cy] = toImage(ev);
  const radius = Number($("brush").value) / 2;
  const S = state.size;
  for (let y = Math.max(0, Math.floor(cy - radius)); y < Math.min(S, Math.ceil(cy + radius)); y++) {
    for (let x = Math.max(0, Math.floor(cx - radius)); x < Math.min(S, Math.ceil(cx + radius)); x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      if (dx * dx + dy * dy <= radius * radius + 0.25) state.stroke[y][x] = 1;
    }
  }
  const k = canvas.width / S;
  ctx.fillStyle = mode() === "add" ? "rgba(40,200,60,0.45)" : "rgba(220,40,40,0.45)";
  ctx.beginPath();
  ctx.arc(cx * k, cy * k, Math.max(radius, 0.5) * k, 0, 2 * Math.PI);
  ctx.fill();
}

canvas.addEventListener("pointerdown", (ev) => {
  if (!state.size) return;
  ev.preventDefault();
  canvas.setPointerCapture(ev.pointerId);
  state.stroke = Array.from({ length: state.size }, () => new Array(state.size).fill(0));
  dab(ev);
});
canvas.addEventListener("pointermove", (ev) => { if (state.stroke) dab(ev); });
function endStroke() {
  if (!state.stroke) return;
  const mask = state.stroke;
  state.stroke = null;
  if (!mask.some((row) => row.some((v) => v))) return;
  state.edits.push({ concept: concept(), mode: mode(), mask, strength: Number($("strength").value) });
  refresh();
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

// --- controls --------------------------------------------------------------------------------
function setSeed(seed) {
  state.seed = seed;
  state.edits = [];
  $("seed").value = String(seed);
  refresh();
}

$("seed").addEventListener("change", () => {
  const v = Number($("seed").value);
  if (Number.isInteger(v) && v >= 0) setSeed(v); else setStatus("the seed must be a whole number ≥ 0", true);
});
$("random").addEventListener("click", () => setSeed(Math.floor(Math.random() * 1e6)));
$("undo").addEventListener("click", () => { state.edits.pop(); refresh(); });
$("reset").addEventListener("click", () => { state.edits = []; refresh(); });
$("strength").addEventListener("input", () => { $("strength-value").textContent = Number($("strength").value).toFixed(2); });
$("brush").addEventListener("input", () => { $("brush-value").textContent = $("brush").value; });

async function init() {
  try {
    const res = await fetch("/api/concepts");
    const info = await res.json();
    state.size = info.size;
    state.concepts = info.concepts;
    $("generator").textContent = `Generator: ${info.generator} (${info.size}×${info.size}).`;
    const box = $("concepts");
    info.concepts.forEach((name, i) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      Object.assign(input, { type: "radio", name: "concept", value: name, checked: i === 0 });
      input.addEventListener("change", refresh);
      label.append(input, ` ${name}`);
      box.append(label);
    });
    const preferred = document.querySelector('input[name="concept"][value="tree"]');
    if (preferred) preferred.checked = true;
    canvas.width = canvas.height = 384;
    $("brush").max = String(Math.max(2, Math.round(state.size / 2)));
    $("brush").value = String(Math.max(1, Math.round(state.size / 8)));
    $("brush-value").textContent = $("brush").value;
    setSeed(Number($("seed").value) || 0);
  } catch (err) {
    setStatus(`error: ${err.message}`, true);
  }
}

init();
