// The explorer page: it draws what the server computed and sends it the pointer, sliders and pen.
// There is no model arithmetic here: every z, image, mean and standard deviation comes from /api,
// i.e. from scratchvae's own forward pass (scratchvae/explore/latent_space.py). What this file
// computes is only geometry for drawing: map coordinates <-> canvas pixels, and which dot is nearest.
// Each answer shown is also kept on its element (data-z, data-pixels, data-mu, data-std, data-seq)
// so the browser test can read back exactly what the page shows.
// COLOURS, $, api(), showError() and showLegend() are common.js's, which index.html loads first.
"use strict";

const state = { info: null, z: null, label: 0, drawn: null, path: null, picks: [], busy: false, next: null,
                samples: null, seed: 0 };
let frame = null;                 // map bounds -> canvas: { x0, y0, scale }
let dots = null;                  // the map's points, drawn once on an off-screen canvas

// ---- talking to the server ---------------------------------------------------------------------

function withLabel(body) {
  return state.info.conditional ? { ...body, label: state.label } : body;
}

// One request in flight at a time; while it runs only the latest wish is kept (the pointer moves fast).
// body() is called when the request is sent, so it starts from the z of the answer before it.
function request(path, body) {
  if (state.busy) { state.next = [path, body]; return; }
  state.busy = true;
  $("decoded").dataset.busy = "1";
  api(path, withLabel(body())).then(showDecoded).catch(showError).finally(() => {
    state.busy = false;
    if (state.next) { const [p, b] = state.next; state.next = null; request(p, b); }
    else delete $("decoded").dataset.busy;
  });
}

// ---- drawing ------------------------------------------------------------------------------------

function paintDigit(canvas, image, side) {
  const ctx = canvas.getContext("2d");
  const pixels = ctx.createImageData(side, side);
  image.forEach((p, i) => {
    const v = Math.round(255 * Math.min(1, Math.max(0, p)));      // a probability in [0, 1] -> grey level
    pixels.data.set([v, v, v, 255], 4 * i);
  });
  ctx.putImageData(pixels, 0, 0);
}

function setFrame() {
  const pts = state.info.points, canvas = $("map"), pad = 16;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of pts) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const scale = Math.min((canvas.width - 2 * pad) / (x1 - x0 || 1), (canvas.height - 2 * pad) / (y1 - y0 || 1));
  frame = { x0: (x0 + x1) / 2, y0: (y0 + y1) / 2, scale };         // equal scales: ellipses keep their shape
}

const toCanvas = ([x, y]) => [$("map").width / 2 + (x - frame.x0) * frame.scale,
                              $("map").height / 2 - (y - frame.y0) * frame.scale];
const toMap = (px, py) => [frame.x0 + (px - $("map").width / 2) / frame.scale,
                           frame.y0 - (py - $("map").height / 2) / frame.scale];

// A tick step of 1, 2 or 5 times a power of ten, giving about `count` ticks over `span` map units.
function tickStep(span, count) {
  const raw = span / count, power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
}

function drawTicks(ctx) {
  const w = $("map").width, h = $("map").height;
  const [left, top] = toMap(0, 0), [right, bottom] = toMap(w, h);
  const step = tickStep(right - left, 6), digits = Math.max(0, -Math.floor(Math.log10(step)));
  ctx.strokeStyle = "#eee"; ctx.fillStyle = "#666"; ctx.font = "10px sans-serif"; ctx.lineWidth = 1;
  for (let v = Math.ceil(left / step) * step; v <= right; v += step) {       // vertical grid lines, labels below
    const [cx] = toCanvas([v, 0]);
    ctx.beginPath(); ctx.moveTo(cx, 0); ctx.lineTo(cx, h); ctx.stroke();
    ctx.fillText(v.toFixed(digits), cx + 2, h - 3);
  }
  for (let v = Math.ceil(bottom / step) * step; v <= top; v += step) {       // horizontal, labels on the left
    const [, cy] = toCanvas([0, v]);
    ctx.beginPath(); ctx.moveTo(0, cy); ctx.lineTo(w, cy); ctx.stroke();
    ctx.fillText(v.toFixed(digits), 3, cy - 2);
  }
}

function drawPrior(ctx) {                                          // N(0, I) through the view: 1 and 2 std
  const prior = state.info.prior, [cx, cy] = toCanvas(prior.xy), e = prior.ellipse;
  ctx.strokeStyle = "#555"; ctx.lineWidth = 1; ctx.setLineDash([5, 4]);
  for (const k of [1, 2]) {
    ctx.beginPath();
    ctx.ellipse(cx, cy, Math.max(1, k * e.radii[0] * frame.scale), Math.max(1, k * e.radii[1] * frame.scale),
                -e.angle, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.fillStyle = "#555"; ctx.fillText(`${k}σ`, cx + k * Math.max(e.radii[0], e.radii[1]) * frame.scale * 0.71 + 2,
                                          cy - k * Math.max(e.radii[0], e.radii[1]) * frame.scale * 0.71 - 2);
  }
  ctx.setLineDash([]);
}

function drawDots() {
  dots = document.createElement("canvas");
  dots.width = $("map").width; dots.height = $("map").height;
  const ctx = dots.getContext("2d");
  drawTicks(ctx);
  drawPrior(ctx);
  ctx.globalAlpha = 0.6;
  state.info.points.forEach((p, i) => {
    const [cx, cy] = toCanvas(p);
    ctx.fillStyle = COLOURS[state.info.labels[i] % 10];
    ctx.fillRect(cx - 1.5, cy - 1.5, 3, 3);
  });
}

function cross(ctx, [cx, cy], size, colour) {
  ctx.strokeStyle = colour; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(cx - size, cy); ctx.lineTo(cx + size, cy);
  ctx.moveTo(cx, cy - size); ctx.lineTo(cx, cy + size); ctx.stroke();
}

function drawMap() {
  const canvas = $("map"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(dots, 0, 0);
  if (state.path) {                                                // the interpolation line
    ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5; ctx.beginPath();
    state.path.forEach((p, i) => { const [cx, cy] = toCanvas(p); i ? ctx.lineTo(cx, cy) : ctx.moveTo(cx, cy); });
    ctx.stroke();
  }
  for (const i of state.picks) {
    const [cx, cy] = toCanvas(state.info.points[i]);
    ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5; ctx.beginPath(); ctx.arc(cx, cy, 6, 0, 2 * Math.PI); ctx.stroke();
  }
  if (state.drawn) {                                               // the drawn digit: mean and 1-std ellipse
    const [cx, cy] = toCanvas(state.drawn.xy), e = state.drawn.ellipse;
    ctx.strokeStyle = "#c00"; ctx.lineWidth = 2; ctx.beginPath();
    ctx.ellipse(cx, cy, Math.max(1, e.radii[0] * frame.scale), Math.max(1, e.radii[1] * frame.scale),
                -e.angle, 0, 2 * Math.PI);                         // canvas y points down: the angle flips
    ctx.stroke();
    cross(ctx, [cx, cy], 7, "#c00");
  }
  if (state.samples) {                                             // where each prior sample sits
    ctx.font = "bold 12px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    state.samples.xy.forEach((p, i) => {
      const [cx, cy] = toCanvas(p);
      ctx.fillStyle = "#fff"; ctx.beginPath(); ctx.arc(cx, cy, 7, 0, 2 * Math.PI); ctx.fill();
      ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.stroke();
      ctx.fillStyle = "#000"; ctx.fillText(String(i + 1), cx, cy + 0.5);
    });
    ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
  }
  if (state.xy) cross(ctx, toCanvas(state.xy), 9, "#000");         // the decoded z
}

function paintStrip(canvas, images, side) {                        // images side by side, one canvas
  const ctx = canvas.getContext("2d"), tmp = document.createElement("canvas");
  tmp.width = side; tmp.height = side;
  canvas.width = side * images.length; canvas.height = side;
  images.forEach((image, i) => { paintDigit(tmp, image, side); ctx.drawImage(tmp, i * side, 0); });
}

function setupSampling() {
  $("sample").addEventListener("click", () => {
    state.seed += 1;                                               // a new, reproducible draw each press
    api("/api/sample", withLabel({ n: 8, seed: state.seed })).then((answer) => {
      state.samples = answer;
      paintStrip($("samples"), answer.images, state.info.side);
      Object.assign($("samples").dataset, { z: JSON.stringify(answer.z), xy: JSON.stringify(answer.xy),
                                           seq: String(Number($("samples").dataset.seq || 0) + 1) });
      drawMap();
    }).catch(showError);
  });
}

const fmt = (v) => v.map((x) => x.toFixed(2)).join(", ");

function showDecoded(answer) {
  const canvas = $("decoded");
  state.z = answer.z; state.xy = answer.xy;
  paintDigit(canvas, answer.image, state.info.side);
  canvas.dataset.z = JSON.stringify(answer.z);
  canvas.dataset.pixels = JSON.stringify(answer.image);
  canvas.dataset.label = String(state.label);
  canvas.dataset.seq = String(Number(canvas.dataset.seq || 0) + 1);
  $("z-readout").textContent = `z = [${fmt(answer.z)}]`;
  for (const input of document.querySelectorAll("#sliders input")) {
    input.value = answer.z[Number(input.dataset.j)];
    input.nextElementSibling.textContent = answer.z[Number(input.dataset.j)].toFixed(2);
  }
  drawMap();
}

// ---- controls -----------------------------------------------------------------------------------

function buildSliders() {
  const info = state.info, box = $("sliders");
  for (const j of info.order) {
    const row = document.createElement("label");
    row.className = "slider";
    row.innerHTML = `<span>z${j + 1} (KL ${info.kl[j].toFixed(2)})</span>` +
      `<input type="range" min="${-info.range[j]}" max="${info.range[j]}" step="0.01" data-j="${j}"><span></span>`;
    row.querySelector("input").addEventListener("input", (ev) => {
      const value = Number(ev.target.value);
      request("/api/decode", () => { const z = state.z.slice(); z[j] = value; return { z }; });
    });
    box.appendChild(row);
  }
  $("sliders-panel").hidden = false;
}

function buildLabels() {
  const box = $("label-buttons");
  for (let y = 0; y < state.info.n_classes; y++) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = String(y); b.dataset.label = String(y);
    b.addEventListener("click", () => {
      state.label = y;
      box.querySelectorAll("button").forEach((o) => o.classList.toggle("on", o === b));
      request("/api/decode", () => ({ z: state.z }));             // the same z, decoded as digit y
    });
    box.appendChild(b);
  }
  box.children[state.label].classList.add("on");
  $("labels").hidden = false;
}

function canvasPoint(canvas, ev) {
  const r = canvas.getBoundingClientRect();
  return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
}

function nearestDot(px, py) {
  let best = 0, bestD = Infinity;
  state.info.points.forEach((p, i) => {
    const [cx, cy] = toCanvas(p), d = (cx - px) ** 2 + (cy - py) ** 2;
    if (d < bestD) { bestD = d; best = i; }
  });
  return best;
}

function setupMap() {
  const map = $("map");
  map.addEventListener("pointermove", (ev) => {
    const [px, py] = canvasPoint(map, ev);
    const xy = toMap(px, py);
    map.dataset.xy = JSON.stringify(xy);
    request("/api/point", () => ({ xy, z: state.z }));
  });
  map.addEventListener("click", (ev) => {
    const [px, py] = canvasPoint(map, ev);
    state.picks = [...state.picks, nearestDot(px, py)].slice(-2);
    if (state.picks.length < 2) { $("pick-state").textContent = "Click a second digit."; drawMap(); return; }
    const [a, b] = state.picks;
    api("/api/interpolate", withLabel({ a, b, steps: 10 })).then((answer) => {
      state.path = answer.xy;
      paintStrip($("strip"), answer.images, state.info.side);
      $("pick-state").textContent = `From test digit #${a} (a ${answer.labels[0]}) to #${b} (a ${answer.labels[1]})` +
        (state.info.conditional ? `, decoded as ${state.label}.` : ".");
      drawMap();
    }).catch(showError);
  });
}

function setupDrawing() {
  const pad = $("draw"), ctx = pad.getContext("2d");
  let last = null;
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); };
  clear();
  pad.addEventListener("pointerdown", (ev) => { pad.setPointerCapture(ev.pointerId); last = canvasPoint(pad, ev); });
  pad.addEventListener("pointermove", (ev) => {
    if (!last) return;
    const p = canvasPoint(pad, ev);
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 2.2; ctx.lineCap = "round";
    ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
    last = p;
  });
  pad.addEventListener("pointerup", () => {
    if (!last) return;
    last = null;
    const rgba = ctx.getImageData(0, 0, pad.width, pad.height).data;
    const image = Array.from({ length: pad.width * pad.height }, (_, i) => rgba[4 * i] / 255);   // grey level -> [0, 1]
    api("/api/encode", withLabel({ image })).then((answer) => {
      state.drawn = answer;
      paintDigit($("recon"), answer.reconstruction, state.info.side);
      const out = $("encoded");
      out.textContent = `mu = [${fmt(answer.mu)}]\nstd = [${fmt(answer.std)}]`;
      const e = answer.neg_elbo;
      $("elbo").textContent = `-ELBO = ${e.neg_elbo.toFixed(1)} nats = reconstruction ${e.rec.toFixed(1)} ` +
        `+ KL ${e.kl.toFixed(1)} (mean over ${e.draws} draws of z; ${e.what})`;
      $("elbo").dataset.negElbo = String(e.neg_elbo);
      Object.assign(out.dataset, { mu: JSON.stringify(answer.mu), std: JSON.stringify(answer.std),
                                   pixels: JSON.stringify(image), input: JSON.stringify(answer.input), seq: String(Number(out.dataset.seq || 0) + 1) });
      drawMap();
    }).catch(showError);
  });
  $("clear").addEventListener("click", () => { clear(); state.drawn = null; drawMap(); });
}

async function main() {
  try {
    state.info = await api("/api/info");
  } catch (err) { showError(err); return; }
  const info = state.info;
  $("model-line").textContent = `${info.name}: ${info.kind.toUpperCase()} ${info.architecture}, ` +
    `J = ${info.latent}; ${info.points.length} test digits on the map`;
  $("axes").textContent = `horizontal: ${info.axes[0]}; vertical: ${info.axes[1] || "(none)"}` +
    (info.latent > 2 ? " (a linear view of z, as the demo's latent.png)" : "");
  $("axes-explained").textContent = info.axes_explained;
  if (info.latent > 2) {
    $("pointer-note").textContent = `z has ${info.latent} dimensions and the map shows two directions of them. ` +
      "Moving the pointer moves z within the plane through the current z spanned by those two directions " +
      `(the smallest change of z that puts it under the pointer); the other ${info.latent - 2} directions keep ` +
      "the values they had. So the digit under a map point depends on the path the pointer took there, and on " +
      "the sliders: the same point of the map is a whole family of codes.";
    $("pointer-note").hidden = false;
  }
  showLegend();
  state.label = info.start.label;
  setFrame(); drawDots();
  if (info.latent > 2) buildSliders();
  if (info.conditional) buildLabels();
  setupMap(); setupDrawing(); setupSampling();
  showDecoded(info.start);
  document.body.dataset.ready = "1";
}

main();
