// Gemello console: small progressive enhancements, no framework. Every page works without it.
"use strict";

// A run's live progress over server-sent events; the page reloads to its result at the end.
function followRun(section) {
  const source = new EventSource(section.dataset.events);
  const bar = document.getElementById("progress-bar");
  const percent = document.getElementById("progress-percent");
  const state = document.getElementById("progress-state");
  const elapsed = document.getElementById("progress-elapsed");
  const stages = document.getElementById("progress-stages");
  source.onmessage = (event) => {
    const p = JSON.parse(event.data);
    bar.value = p.percent;
    bar.textContent = p.percent + " %";
    percent.textContent = p.percent + " %";
    state.textContent = p.state_label;
    elapsed.textContent = p.elapsed_s;
    stages.replaceChildren(...p.stages.map((s) => {
      const li = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = s.name;
      li.append(name, " — " + s.label);
      if (s.holders.length) {
        const ul = document.createElement("ul");
        for (const h of s.holders) {
          const item = document.createElement("li");
          let text = h.partner + ": " + h.label;
          if (h.seconds) text += " (" + h.seconds + " s)";
          if (h.error) text += " — " + h.error;
          item.textContent = text;
          ul.append(item);
        }
        li.append(ul);
      }
      return li;
    }));
  };
  source.addEventListener("done", () => { source.close(); window.location.reload(); });
}

// Tables whose columns sort on a click of their heading (numbers by their value).
function sortable(table) {
  const heads = table.tHead.rows[0].cells;
  Array.from(heads).forEach((th, col) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.append(...th.childNodes);
    th.append(button);
    button.addEventListener("click", () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.from(heads).forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const body = table.tBodies[0];
      const key = (row) => {
        const cell = row.cells[col];
        const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent;
        const number = parseFloat(raw.replace(/[,\s%+]/g, "").replace("−", "-"));
        return Number.isNaN(number) ? raw.trim().toLowerCase() : number;
      };
      const rows = Array.from(body.rows).sort((a, b) => {
        const x = key(a), y = key(b);
        const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
        return ascending ? order : -order;
      });
      body.append(...rows);
    });
  });
}

// The map's readout: the hovered or focused area's name and value.
function readout(svg, out) {
  const show = (event) => {
    const area = event.target.closest("path[data-name]");
    if (area) out.textContent = area.dataset.name + " (" + area.dataset.district + "): " + area.dataset.value;
  };
  svg.addEventListener("mouseover", show);
  svg.addEventListener("focusin", show);
}

// The query builder's error preview, asked again as the reader changes the form (it spends
// nothing). A new filter dimension reloads the builder, to offer that dimension's values.
function livePreview(form) {
  let timer;
  const update = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const data = new URLSearchParams(new FormData(form));
      data.delete("csrf");
      data.set("fragment", "true");
      const response = await fetch(form.dataset.preview + "?" + data, { credentials: "same-origin" });
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html")
        .getElementById("preview");
      const current = document.getElementById("preview");
      if (fresh && current) current.replaceWith(fresh);
    }, 250);
  };
  form.addEventListener("input", update);
  form.addEventListener("change", (event) => {
    if (event.target.name === "filter_dim") {
      const data = new URLSearchParams(new FormData(form));
      data.delete("csrf");
      window.location.assign(form.dataset.preview + "?" + data);
    } else {
      update();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const asking = document.getElementById("ask");
  if (asking && asking.dataset.preview) livePreview(asking);
  const progress = document.getElementById("progress");
  if (progress && progress.dataset.events) followRun(progress);
  document.querySelectorAll("table.sortable").forEach(sortable);
  const out = document.getElementById("readout");
  document.querySelectorAll(".choro svg").forEach((svg) => out && readout(svg, out));
});
