// Live view of /api/state: one uPlot chart per figure, redrawn every second.
// Every chart's element carries data-points (points drawn) for the browser test.
"use strict";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const WIDTH = 520, HEIGHT = 170, SMALL = 300;
const charts = {};
let polls = 0;

function chart(id, parent, title, series, width, scales) {
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement("div");
    el.id = id;
    el.className = "chart";
    parent.appendChild(el);
  }
  if (!charts[id]) {
    const axes = [{}, {label: series[0].label}];
    if (scales) axes.push({side: 1, scale: "right", label: scales, grid: {show: false}});
    charts[id] = new uPlot({
      title: title, width: width, height: HEIGHT, axes: axes,
      series: [{}].concat(series.map((s, i) => Object.assign(
        {stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true}, s))),
    }, [[]].concat(series.map(() => [])), el);
  }
  return [charts[id], el];
}

function draw(id, parent, title, x, series, width, scales) {
  const [plot, el] = chart(id, parent, title, series, width, scales);
  plot.setData([x].concat(series.map(s => s.data)));
  el.dataset.points = String(x.length);
}

function streamCard(s, index) {
  const safe = "s" + index;
  let card = document.getElementById(safe);
  if (!card) {
    card = document.createElement("div");
    card.id = safe;
    card.className = "card stream";
    card.innerHTML = "<h3></h3><div class='row'></div>";
    document.getElementById("streams").appendChild(card);
  }
  const knobs = Object.entries(s.knobs).map(([k, v]) => k + " " + v).join(", ");
  card.querySelector("h3").textContent = s.stream + (s.present ? "" : " (left)") +
    " — " + knobs + (s.lambda == null ? "" : ", lambda " + s.lambda.toPrecision(3)) +
    ", queue " + s.queue + ", dropped " + s.dropped;
  const row = card.querySelector(".row");
  draw(safe + "-kbps", row, "kbit/s against its share", s.report_time,
       [{label: "kbit/s", data: s.kbps},
        {label: "share", data: s.share_kbps, dash: [5, 5]}], SMALL);
  draw(safe + "-knobs", row, "knobs", s.time,
       [{label: "qp / fps", data: s.qp}, {label: "fps", data: s.fps},
        {label: "height", data: s.height, scale: "right"}], SMALL, "height");
  draw(safe + "-stake", row, "accuracy at stake (F1, one step cheaper)", s.report_time,
       [{label: "F1", data: s.stake}], SMALL);
  draw(safe + "-latency", row, "server latency (ms)", s.time,
       [{label: "round trip", data: s.latency_ms}, {label: "DNN", data: s.dnn_ms}], SMALL);
}

function split(state) {
  const el = document.getElementById("split");
  const names = Object.keys(state.split).sort();
  el.innerHTML = "";
  names.forEach((name, i) => {
    const part = document.createElement("div");
    const share = 100 * state.split[name] / state.budget_kbps;
    part.style.width = Math.min(share, 100).toFixed(1) + "%";
    part.style.background = COLORS[i % COLORS.length];
    part.title = name + ": " + state.split[name].toFixed(1) + " kbit/s";
    part.textContent = name + " " + share.toFixed(0) + "%";
    el.appendChild(part);
  });
  el.dataset.streams = String(names.length);
}

function table(state) {
  const body = document.querySelector("#table tbody");
  body.innerHTML = "";
  for (const s of state.streams) {
    const tr = document.createElement("tr");
    const last = s.kbps.length ? s.kbps[s.kbps.length - 1].toFixed(1) : "0";
    for (const v of [s.stream, s.knobs.qp, s.knobs.height, s.knobs.fps, last]) {
      const td = document.createElement("td");
      td.textContent = v == null ? "" : String(v);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

function render(state) {
  const r = state.rounds;
  const total = r.total_kbps;
  const budget = total.map(() => state.budget_kbps);
  const mean = total.map((_, i) => {
    const w = total.slice(Math.max(0, i - state.window + 1), i + 1);
    return w.reduce((a, b) => a + b, 0) / w.length;
  });
  draw("fleet", document.getElementById("fleet").parentNode, "", r.time,
       [{label: "kbit/s", data: total}, {label: "budget", data: budget, dash: [6, 4]},
        {label: state.window + "-s mean", data: mean}], WIDTH);
  const last = total.length ? total[total.length - 1].toFixed(1) : "0";
  const status = document.getElementById("status");
  status.textContent = "rule " + state.rule + ", budget " + state.budget_kbps +
    " kbit/s; round " + state.round + ", last second " + last + " kbit/s, " +
    state.streams.filter(s => s.present).length + " streams present";
  status.dataset.round = String(state.round);
  status.dataset.polls = String(++polls);
  split(state);
  table(state);
  state.streams.forEach(streamCard);
}

async function poll() {
  try {
    const reply = await fetch("/api/state", {cache: "no-store"});
    if (reply.ok) render(await reply.json());
  } catch (e) {
    document.getElementById("status").textContent = "coordinator unreachable: " + e;
  }
  setTimeout(poll, 1000);
}
poll();
