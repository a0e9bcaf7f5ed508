// The lab page: it sends the learner's settings and buttons to /api/lab and draws the frames the server
// measured (scratchvae/explore/lab.py). No model arithmetic here: every loss, code, image, pull and
// posterior comes from the library; this file only maps numbers to pixels. What it shows is also kept on
// elements (data-step, data-frame, data-first-code ...) so the browser test can read it back.
// COLOURS, $, api(), showError() and showLegend() are common.js's, which lab.html loads first.
"use strict";

const FIELDS = ["beta", "lr", "hidden", "seed", "warmup"];
const lab = { info: null, frame: null, busy: false, selected: [], forces: null, exact: null, decoded: null };

// ---- talking to the server ---------------------------------------------------------------------

function clearError() { $("error").hidden = true; }

function post(path, body) {
  clearError();
  return api(path, body || {}).then((answer) => { poll(); return answer; }).catch(showError);
}

// The newest frame wins: one GET in flight at a time, four times a second.
function poll() {
  if (lab.busy) return;
  lab.busy = true;
  api("/api/lab/state").then((frame) => { if (!lab.frame || frame.frame !== lab.frame.frame) draw(frame); })
    .catch(showError).finally(() => { lab.busy = false; });
}

// ---- the settings, in the form and in the page's URL -------------------------------------------------

function settings() {
  const out = {};
  for (const key of FIELDS) {
    const v = $(key).value.trim();
    if (v !== "") out[key] = Number(v);
  }
  return out;
}

function fillForm(values) {
  for (const key of FIELDS) if (values[key] !== undefined) $(key).value = values[key];
  writeUrl();
}

function writeUrl() {
  const query = new URLSearchParams(settings());
  query.set("range", $("range").value);
  history.replaceState(null, "", "?" + query.toString());
}

function readUrl() {
  const query = new URLSearchParams(location.search);
  const values = {};
  for (const key of FIELDS) if (query.has(key)) values[key] = query.get(key);
  if (["4", "8", "16"].includes(query.get("range"))) $("range").value = query.get("range");
  return values;
}

// ---- geometry and pictures -------------------------------------------------------------------------

function plane(canvas) {           // latent z -> canvas pixels on the fixed axes +-R
  const R = Number($("range").value), w = canvas.width, h = canvas.height;
  return { R, x: (z1) => (z1 + R) / (2 * R) * w, y: (z2) => (R - z2) / (2 * R) * h,
           z: (px, py) => [px / w * 2 * R - R, R - py / h * 2 * R] };
}

function bytes(base64) { return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)); }

function paintTiles(canvas, pixels, cols, side = 28) {     // images of side x side, 0..255, in a grid
  const n = pixels.length / (side * side), rows = Math.ceil(n / cols);
  const ctx = canvas.getContext("2d"), out = ctx.createImageData(cols * side, rows * side);
  for (let k = 0; k < n; k++) {
    const r0 = Math.floor(k / cols) * side, c0 = (k % cols) * side;
    for (let i = 0; i < side * side; i++) {
      const v = pixels[k * side * side + i], at = 4 * ((r0 + Math.floor(i / side)) * cols * side + c0 + (i % side));
      out.data[at] = out.data[at + 1] = out.data[at + 2] = v; out.data[at + 3] = 255;
    }
  }
  canvas.width = cols * side; canvas.height = rows * side;
  ctx.putImageData(out, 0, 0);
}

function ellipse(ctx, p, mu, std, k) {
  ctx.beginPath();
  ctx.ellipse(p.x(mu[0]), p.y(mu[1]), Math.abs(p.x(mu[0] + k * std[0]) - p.x(mu[0])),
              Math.abs(p.y(mu[1] + k * std[1]) - p.y(mu[1])), 0, 0, 2 * Math.PI);
  ctx.stroke();
}

function arrow(ctx, x0, y0, x1, y1, colour) {
  const a = Math.atan2(y1 - y0, x1 - x0);
  ctx.strokeStyle = ctx.fillStyle = colour; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
  ctx.beginPath(); ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - 8 * Math.cos(a - 0.4), y1 - 8 * Math.sin(a - 0.4));
  ctx.lineTo(x1 - 8 * Math.cos(a + 0.4), y1 - 8 * Math.sin(a + 0.4)); ctx.fill();
  ctx.lineWidth = 1;
}

// ---- the codes' plane --------------------------------------------------------------------------------

function drawCodes() {
  const canvas = $("codes"), ctx = canvas.getContext("2d"), p = plane(canvas), f = lab.frame;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#ddd"; ctx.fillStyle = "#777"; ctx.font = "10px sans-serif";
  for (let t = -p.R; t <= p.R; t += p.R / 4) {                           // ticks and grid lines
    ctx.beginPath(); ctx.moveTo(p.x(t), 0); ctx.lineTo(p.x(t), canvas.height);
    ctx.moveTo(0, p.y(t)); ctx.lineTo(canvas.width, p.y(t)); ctx.stroke();
    ctx.fillText(String(t), p.x(t) + 2, canvas.height - 3); ctx.fillText(String(t), 2, p.y(t) - 2);
  }
  ctx.strokeStyle = "#444"; ctx.setLineDash([4, 3]);                      // the prior's 1 and 2 sigma
  for (const k of [1, 2]) ellipse(ctx, p, [0, 0], [1, 1], k);
  ctx.setLineDash([]);
  let outside = 0;
  if (f && f.codes.xy.length) {
    f.codes.xy.forEach(([z1, z2], i) => {
      if (z1 === null || z2 === null) return;
      const x = p.x(z1), y = p.y(z2), inside = x >= 0 && x <= canvas.width && y >= 0 && y <= canvas.height;
      if (!inside) outside++;
      ctx.fillStyle = COLOURS[f.codes.labels[i]];
      ctx.fillRect(Math.min(Math.max(x, 1), canvas.width - 2) - 2, Math.min(Math.max(y, 1), canvas.height - 2) - 2,
                   inside ? 4 : 2, inside ? 4 : 2);
    });
    for (const i of lab.selected) {                                        // q's ellipses of the selected
      const mu = f.codes.xy[i], std = f.codes.std[i];
      if (!mu || mu[0] === null || std[0] === null) continue;
      ctx.strokeStyle = "#000"; ellipse(ctx, p, mu, std, 1);
      ctx.strokeRect(p.x(mu[0]) - 4, p.y(mu[1]) - 4, 8, 8);
    }
  }
  if (lab.forces && lab.forces.step === (f && f.step)) drawForces(ctx, p);
  if (lab.decoded) { ctx.strokeStyle = "#000"; ctx.beginPath(); ctx.arc(p.x(lab.decoded[0]), p.y(lab.decoded[1]), 6, 0, 7); ctx.stroke(); }
  $("outside").textContent = outside === 1 ? "1 code lies outside these axes (drawn small at the edge)" :
    outside ? `${outside} codes lie outside these axes (drawn small at the edge)` : "";
}

function drawForces(ctx, p) {
  const all = lab.forces.forces.flatMap((d) => [d.reconstruction, d.kl]).map(([a, b]) => Math.hypot(a, b));
  const scale = 70 / Math.max(1e-9, ...all);                             // the longest arrow: 70 pixels
  const lines = [`pulls on mu at step ${lab.forces.step - 1} (beta ${lab.forces.beta}), nats per unit z; longest arrow = ${(70 / scale).toFixed(2)}`];
  for (const d of lab.forces.forces) {
    const x = p.x(d.mu[0]), y = p.y(d.mu[1]);
    arrow(ctx, x, y, x + scale * d.reconstruction[0], y - scale * d.reconstruction[1], "#c0392b");
    arrow(ctx, x, y, x + scale * d.kl[0], y - scale * d.kl[1], "#2166ac");
    lines.push(`digit ${d.index}: reconstruction (${d.reconstruction.map((v) => v.toFixed(2)).join(", ")})  ` +
               `KL (${d.kl.map((v) => v.toFixed(2)).join(", ")})`);
  }
  $("forces").textContent = lines.join("\n");
}

// ---- curves ------------------------------------------------------------------------------------------

function drawCurves(canvas, series, events, steps) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, left = 40, bottom = 16;
  ctx.clearRect(0, 0, w, h);
  const values = series.flatMap((s) => s.y).filter((v) => v !== null && Number.isFinite(v));
  if (!steps.length || !values.length) return;
  const sorted = [...values].sort((a, b) => a - b);
  let lo = Math.min(0, sorted[0]), hi = sorted[Math.floor(0.98 * (sorted.length - 1))] * 1.05 || 1;
  if (series[0].name.includes("ELBO")) { lo = sorted[0] * 0.97; hi = Math.max(hi, lo + 1); }
  const x0 = steps[0], x1 = Math.max(steps[steps.length - 1], x0 + 1);
  const X = (s) => left + (s - x0) / (x1 - x0) * (w - left - 8), Y = (v) => 6 + (hi - Math.min(v, hi)) / (hi - lo) * (h - bottom - 6);
  ctx.fillStyle = "#777"; ctx.strokeStyle = "#eee"; ctx.font = "10px sans-serif";
  for (let k = 0; k <= 4; k++) {
    const v = lo + k * (hi - lo) / 4;
    ctx.beginPath(); ctx.moveTo(left, Y(v)); ctx.lineTo(w, Y(v)); ctx.stroke(); ctx.fillText(v.toFixed(1), 2, Y(v) + 3);
  }
  ctx.fillText(`step ${x0}`, left, h - 3); ctx.fillText(`step ${x1}`, w - 70, h - 3);
  for (const e of events) {                                                 // every change of beta or lr
    if (e.step < x0) continue;
    ctx.strokeStyle = "#999"; ctx.setLineDash([2, 2]);
    ctx.beginPath(); ctx.moveTo(X(e.step), 0); ctx.lineTo(X(e.step), h - bottom); ctx.stroke(); ctx.setLineDash([]);
    const label = `${e.what}${e.value === null ? "" : " " + e.value}`, width = ctx.measureText(label).width;
    ctx.fillStyle = "#555"; ctx.fillText(label, X(e.step) + 2 + width > w ? X(e.step) - width - 2 : X(e.step) + 2, 10);
  }
  let keyX = left + 6;
  for (const s of series) {
    ctx.strokeStyle = s.colour; ctx.setLineDash(s.dashed ? [5, 3] : []); ctx.beginPath();
    let drawing = false;
    s.y.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) { drawing = false; return; }
      if (drawing) ctx.lineTo(X(steps[i]), Y(v)); else ctx.moveTo(X(steps[i]), Y(v));
      drawing = true;
    });
    ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = s.colour; ctx.fillText(s.name, keyX, h - bottom - 4); keyX += ctx.measureText(s.name).width + 10;
  }
}

function drawAllCurves() {
  const c = lab.frame.curves, events = lab.frame.events.filter((e) => e.what === "beta" || e.what === "lr" || e.what.startsWith("fork"));
  drawCurves($("curve-elbo"), [
    { name: "train -ELBO", y: c.train_neg_elbo, colour: "#000" }, { name: "held-out -ELBO", y: c.test_neg_elbo, colour: "#000", dashed: true },
    { name: "train rec", y: c.train_rec, colour: "#c0392b" }, { name: "held-out rec", y: c.test_rec, colour: "#c0392b", dashed: true }],
    events, c.step);
  const perDim = [0, 1].map((j) => c.test_kl_per_dim.map((row) => row[j]));
  drawCurves($("curve-kl"), [
    { name: "KL", y: c.train_kl, colour: "#2166ac" }, { name: "held-out KL", y: c.test_kl, colour: "#2166ac", dashed: true },
    { name: "beta·KL", y: c.train_beta_kl, colour: "#7b3294" },
    { name: "KL of z1", y: perDim[0], colour: "#1b9e77", dashed: true }, { name: "KL of z2", y: perDim[1], colour: "#d95f02", dashed: true }],
    events, c.step);
}

// ---- the rate-distortion plane -------------------------------------------------------------------------

function drawRateDistortion() {
  const canvas = $("rd"), ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, f = lab.frame;
  ctx.clearRect(0, 0, w, h);
  const main = f.curves.rate.map((r, i) => ({ rate: r, distortion: f.curves.distortion[i] })).filter((q) => q.rate !== null && q.distortion !== null);
  const traces = f.fork ? f.fork.traces : [[], []];
  const points = [...main.slice(-60), ...traces[0], ...traces[1]];
  if (!points.length) return;
  const rMax = Math.max(...points.map((q) => q.rate)) * 1.15 + 0.1;
  const dLo = Math.min(...points.map((q) => q.distortion)) - 2, dHi = Math.max(...points.map((q) => q.distortion)) + 2;
  const X = (r) => 30 + r / rMax * (w - 40), Y = (d) => 10 + (dHi - d) / (dHi - dLo) * (h - 30);
  ctx.font = "10px sans-serif"; ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#999";
  const step = Math.max(1, Math.round((dHi - dLo + rMax) / 6));
  for (let c = Math.ceil(dLo / step) * step; c <= dHi + rMax; c += step) {   // rate + distortion = c
    ctx.beginPath(); ctx.moveTo(X(0), Y(c)); ctx.lineTo(X(rMax), Y(c - rMax)); ctx.stroke();
    ctx.fillText(`-ELBO ${c}`, X(0) + 2, Y(c) - 2);
  }
  ctx.fillStyle = "#555"; ctx.fillText("rate (KL) →", w - 70, h - 4); ctx.fillText("distortion", 2, 10);
  const trace = (list, colour, label) => {
    if (!list.length) return;
    ctx.strokeStyle = ctx.fillStyle = colour; ctx.beginPath();
    list.forEach((q, i) => (i ? ctx.lineTo(X(q.rate), Y(q.distortion)) : ctx.moveTo(X(q.rate), Y(q.distortion))));
    ctx.stroke();
    const last = list[list.length - 1];
    ctx.fillRect(X(last.rate) - 3, Y(last.distortion) - 3, 6, 6); ctx.fillText(label, X(last.rate) + 5, Y(last.distortion) - 5);
  };
  trace(main.slice(-60), "#888", "run");
  if (f.fork) {
    trace(traces[0], "#1b9e77", `beta ${f.fork.betas[0]}`);
    trace(traces[1], "#d95f02", `beta ${f.fork.betas[1]}`);
    const last = traces.map((t) => t[t.length - 1]);
    $("fork-numbers").textContent = `fork at step ${f.fork.start_step}: ${f.fork.done_steps} of ${f.fork.steps} steps` +
      (f.fork.done ? " (done: resume continues the main run from the fork's step)" : "") +
      last.map((q, i) => q ? `\nbeta ${f.fork.betas[i]}: rate ${q.rate}, distortion ${q.distortion}, -ELBO ${q.neg_elbo}` +
        (f.fork.diverged[i] ? " (diverged)" : "") : "").join("");
  }
}

// ---- exact inference -------------------------------------------------------------------------------

function drawExact() {
  const e = lab.exact, canvas = $("exact"), ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (!e) return;
  const n = e.grid.n, density = bytes(e.grid.density), image = ctx.createImageData(n, n);
  density.forEach((v, i) => image.data.set([255 - v * 0.8, 255 - v * 0.55, 255, 255], 4 * i));
  const off = document.createElement("canvas"); off.width = off.height = n;
  off.getContext("2d").putImageData(image, 0, 0);
  ctx.drawImage(off, 0, 0, w, h);
  const p = { x: (z1) => (z1 - e.grid.lo[0]) / (e.grid.hi[0] - e.grid.lo[0]) * w,
              y: (z2) => (e.grid.hi[1] - z2) / (e.grid.hi[1] - e.grid.lo[1]) * h };
  ctx.strokeStyle = "#c0392b"; ctx.setLineDash([4, 3]);
  for (const k of [1, 2]) ellipse(ctx, p, e.mu, e.std, k);
  ctx.setLineDash([]);
  ctx.fillStyle = "#333"; ctx.font = "10px sans-serif";
  ctx.fillText(`z1 ${e.grid.lo[0].toFixed(2)} .. ${e.grid.hi[0].toFixed(2)}, z2 ${e.grid.lo[1].toFixed(2)} .. ${e.grid.hi[1].toFixed(2)}`, 4, h - 4);
  $("exact-numbers").textContent =
    `digit ${e.index} (a ${e.label}) at step ${e.step}, in nats:\n` +
    `log p(x) = ${e.log_px}   ELBO = ${e.elbo}   gap = ${e.gap}\n` +
    `KL(q || posterior) = ${e.kl_q_posterior} (computed on its own: it equals the gap)\n` +
    `KL(q || prior) = ${e.kl_q_prior}; q's std ${e.std.map((v) => v.toFixed(3)).join(", ")}, ` +
    `the posterior's ${e.posterior_std.map((v) => v.toFixed(3)).join(", ")}\n` +
    (e.resolved ? "" : "the grid is coarse for this posterior: take the numbers as approximate\n") +
    "These are Bernoulli scores of grey-level pixels (a cross-entropy), not log-probabilities of the image.";
}

function select(index) {
  lab.selected = lab.selected.includes(index) ? lab.selected.filter((i) => i !== index) : [...lab.selected, index].slice(-5);
  $("codes").dataset.selected = JSON.stringify(lab.selected);
  drawCodes();
  $("exact-numbers").textContent = "computing on the grid ...";
  api("/api/lab/exact", { index }).then((answer) => { lab.exact = answer; $("exact").dataset.seq = (Number($("exact").dataset.seq) || 0) + 1; drawExact(); })
    .catch(showError);
}

// ---- one frame -------------------------------------------------------------------------------------

function draw(frame) {
  lab.frame = frame;
  const s = $("status");
  const status = frame.status === "none" ? "no run yet" : frame.status === "diverged" ? "DIVERGED" : frame.status;
  s.textContent = `${status}   step ${frame.step}   epoch ${frame.epoch}   ${frame.images_per_second.toFixed(0)} images/s` +
    `   beta ${frame.settings.beta} (now ${frame.beta_now.toFixed(3)})   lr ${frame.settings.lr}` + (frame.message ? `\n${frame.message}` : "");
  s.className = "numbers " + frame.status;
  Object.assign(s.dataset, { step: frame.step, frame: frame.frame, status: frame.status,
                             firstCode: JSON.stringify(frame.codes.xy[0] || null),
                             points: frame.curves.step.length, beta: frame.settings.beta });
  if (frame.status !== "none") {
    drawAllCurves();
    paintTiles($("manifold"), bytes(frame.manifold), lab.info.manifold.n);
    const shown = lab.info.reconstructed, held = lab.held;
    const pairs = new Uint8Array(2 * shown.length * 784);
    shown.forEach((i, k) => pairs.set(held.subarray(i * 784, (i + 1) * 784), k * 784));
    pairs.set(bytes(frame.reconstructions), shown.length * 784);
    paintTiles($("recon"), pairs, shown.length);
    drawRateDistortion();
  }
  drawCodes();
}

// ---- events ----------------------------------------------------------------------------------------

function wire() {
  $("start").onclick = () => post("/api/lab/start", settings());
  $("reset").onclick = () => { lab.forces = null; post("/api/lab/reset", settings()); };
  $("pause").onclick = () => post("/api/lab/pause");
  $("resume").onclick = () => post("/api/lab/resume");
  $("apply-beta").onclick = () => post("/api/lab/beta", { beta: Number($("beta").value) });
  $("apply-lr").onclick = () => post("/api/lab/lr", { lr: Number($("lr").value) });
  $("step").onclick = () => post("/api/lab/step", { digits: lab.selected }).then((answer) => {
    if (answer) { lab.forces = answer; $("forces").dataset.seq = (Number($("forces").dataset.seq) || 0) + 1; }
  });
  $("save").onclick = () => post("/api/lab/save").then((a) => { if (a) $("saved").textContent = `saved ${a.path}: ${a.explore}`; });
  $("fork").onclick = () => post("/api/lab/fork", { betas: [Number($("fork-a").value), Number($("fork-b").value)],
                                                    steps: Number($("fork-steps").value) });
  for (const key of FIELDS) $(key).addEventListener("input", writeUrl);
  $("range").onchange = () => { writeUrl(); drawCodes(); };
  $("codes").addEventListener("click", (event) => {
    const canvas = $("codes"), box = canvas.getBoundingClientRect(), p = plane(canvas);
    const px = (event.clientX - box.left) * canvas.width / box.width, py = (event.clientY - box.top) * canvas.height / box.height;
    const f = lab.frame;
    if (f && f.codes.xy.length) {                                           // the nearest dot, if within 6 pixels
      let best = -1, bestD = 36;
      f.codes.xy.forEach(([z1, z2], i) => {
        if (z1 === null) return;
        const d = (p.x(z1) - px) ** 2 + (p.y(z2) - py) ** 2;
        if (d < bestD) { best = i; bestD = d; }
      });
      if (best >= 0) { select(best); return; }
    }
    if (!f || f.status === "none") return;
    const z = p.z(px, py);
    api("/api/lab/decode", { z }).then((answer) => {
      lab.decoded = answer.z; paintTiles($("decoded"), bytes(answer.image), 1);
      $("decoded-z").textContent = `z = (${answer.z.map((v) => v.toFixed(2)).join(", ")}) at step ${answer.step}`;
      drawCodes();
    }).catch(showError);
  });
}

async function main() {
  wire();
  lab.info = await api("/api/lab/info");
  lab.held = bytes(lab.info.held_out.pixels);
  fillForm({ ...lab.info.defaults, ...readUrl() });
  $("units").textContent = `Units: ${lab.info.units}.`;
  showLegend();
  for (const preset of lab.info.presets) {
    const button = document.createElement("button");
    button.type = "button"; button.textContent = preset.name; button.dataset.preset = preset.name;
    button.onclick = () => {
      fillForm({ ...lab.info.defaults, ...preset.settings });
      $("preset-look").textContent = `${preset.name}: ${preset.look} Press start (or reset, if a run exists).`;
    };
    $("presets").appendChild(button);
  }
  poll();
  setInterval(poll, 250);
  document.body.dataset.ready = "1";
}

main().catch(showError);
