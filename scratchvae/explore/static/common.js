// What both pages share, loaded before each page's own script (index.html: explore.js; lab.html: lab.js):
// the digit colours and their key, the element lookup, the one way to ask the server, the error line.
// Like the pages' scripts it holds no model arithmetic: every number drawn comes from the server's /api.
"use strict";

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];   // matplotlib's tab10: digit y is COLOURS[y]
const $ = (id) => document.getElementById(id);

// A GET (no body) or a JSON POST; the server's refusal {"error": one line} becomes the thrown Error's message.
async function api(path, body) {
  const options = body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, options);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function showError(err) {
  $("error").textContent = String(err.message || err);
  $("error").hidden = false;
}

function showLegend() {                // the colour key: one swatch per digit 0..9, in #legend
  $("legend").innerHTML = COLOURS.map((c, y) => `<span><i style="background:${c}"></i>${y}</span>`).join("");
}
