/* Load latency by working-set size, measured in the reader's browser.
 *
 * A pointer chase through one random cycle (Sattolo's algorithm) over a Uint32Array, one hop
 * per 64-byte line, for working sets from 4 KiB doubling up to a cap or the first allocation
 * the browser refuses. Everything runs here: nothing is fetched and nothing leaves the page.
 * The reader's curve is drawn as inline SVG over the build machine's staircase when the page
 * carries it (<script type="application/json" id="build-latency">), and a results file
 * written by scripts/measure.py can be dropped on the probe to draw its staircase too.
 *
 * Markup it needs: <div id="latency-probe"><button>…</button></div>. It adds the rest.
 * The drawn data is also in the DOM: each point of the reader's curve carries data-bytes,
 * data-ns and data-repeats, and the probe's data-curve attribute holds the whole run as JSON.
 */
(() => {
  "use strict";

  const KIB = 1024;
  const MIB = 1024 * KIB;
  const GIB = 1024 * MIB;
  const LINE = 64;                  // bytes per hop: every load lands on a line of its own
  const STEP = LINE / 4;            // Uint32 elements per line
  const SMALLEST = 4 * KIB;
  const CAP = 256 * MIB;
  const SAMPLE_MS = 20;             // each timed sample lasts at least this long…
  const SAMPLE_TICKS = 200;         // …and at least this many steps of the timer
  const REPEATS = 7;
  const GROW_MAX = 4;               // a short sample grows the hop count by at most this
  const WARM_SLICE = 1 << 16;       // hops per slice of the warm-up
  const BUILD_CHUNK = 1 << 18;      // lines linked per slice before yielding to the page
  const MAX_FILE_BYTES = 64 * MIB;
  const MAX_POINTS = 1000;
  const SVG_NS = "http://www.w3.org/2000/svg";

  // ------------------------------------------------------------------ small helpers

  const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

  function median(values) {
    const v = [...values].sort((a, b) => a - b);
    const m = v.length >> 1;
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  }

  function fmtBytes(n) {
    if (n >= GIB) return `${+(n / GIB).toFixed(2)} GiB`;
    if (n >= MIB) return `${+(n / MIB).toFixed(2)} MiB`;
    if (n >= KIB) return `${+(n / KIB).toFixed(2)} KiB`;
    return `${n} B`;
  }

  function fmtNs(x) {
    return x >= 100 ? x.toFixed(0) : String(+x.toPrecision(3));
  }

  function fmtMs(x) {
    return x >= 1 ? `${+x.toPrecision(3)} ms` : `${+(x * 1000).toPrecision(3)} µs`;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svg(tag, attrs, parent) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }

  // ------------------------------------------------------------------ the measurement

  /* The step of performance.now(): browsers coarsen it (and add jitter) against timing
   * attacks, so spin until it changes, from one change to the next, several times. */
  function timerResolution() {
    const steps = [];
    for (let k = 0; k < 21; k++) {
      let spins = 0;
      const t0 = performance.now();
      let t1 = t0;
      while (t1 === t0 && spins++ < 1e8) t1 = performance.now();
      let t2 = t1;
      while (t2 === t1 && spins++ < 2e8) t2 = performance.now();
      if (t2 > t1) steps.push(t2 - t1);
    }
    return steps.length ? median(steps) : NaN;
  }

  /* One random cycle through every line of a `bytes`-sized Uint32Array: the first element of
   * line i holds the index of the first element of the next line. Sattolo's shuffle (j < i,
   * never j == i) gives a single cycle, so the chase visits every line before it repeats.
   * Allocation throws a RangeError when the browser refuses. */
  async function makeChain(bytes) {
    const a = new Uint32Array(bytes / 4);
    const lines = bytes / LINE;
    for (let i = 0; i < lines; i++) a[i * STEP] = i * STEP;
    for (let i = lines - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * i);
      const t = a[i * STEP];
      a[i * STEP] = a[j * STEP];
      a[j * STEP] = t;
      if (i % BUILD_CHUNK === 0) await pause();
    }
    return a;
  }

  /* The timed loop: each load's address is the value of the previous load. */
  function chase(a, start, hops) {
    let i = start;
    for (let k = 0; k < hops; k++) i = a[i];
    return i;
  }

  class Probe {
    constructor(root) {
      this.root = root;
      this.button = root.querySelector("button");
      this.results = [];
      this.fileSeries = null;
      this.sink = 0;
      this.running = false;
      this.buildUi();
    }

    buildUi() {
      const r = this.root;
      r.classList.add("latency-probe");
      this.progress = el("p", "latency-probe__progress");
      this.progress.setAttribute("aria-live", "polite");
      this.chart = el("div", "latency-probe__chart");
      this.legend = el("ul", "latency-probe__legend");
      this.summary = el("p", "latency-probe__summary");
      this.caveat = el("p", "latency-probe__caveat");
      this.message = el("p", "latency-probe__message");
      this.message.setAttribute("role", "status");
      const drop = el("p", "latency-probe__drop");
      drop.append("Or drop a results file written by ", el("code", null, "scripts/measure.py"),
                  " (", el("code", null, "results/<machine>.json"), ") on this box, or ");
      const label = el("label", "latency-probe__file");
      label.append("choose one");
      this.input = el("input");
      this.input.type = "file";
      this.input.accept = ".json,application/json";
      label.append(this.input);
      drop.append(label, ", to draw its staircase beside the build's. The file is read here and sent nowhere.");
      this.sinkLine = el("p", "latency-probe__sink");
      r.append(this.progress, this.chart, this.legend, this.summary, this.caveat, this.message, drop, this.sinkLine);
      r.dataset.state = "idle";

      if (this.button) this.button.addEventListener("click", () => this.run());
      this.input.addEventListener("change", () => {
        if (this.input.files && this.input.files[0]) this.loadFile(this.input.files[0]);
      });
      r.addEventListener("dragover", (ev) => {
        ev.preventDefault();
        r.classList.add("latency-probe--dragover");
      });
      r.addEventListener("dragleave", () => r.classList.remove("latency-probe--dragover"));
      r.addEventListener("drop", (ev) => {
        ev.preventDefault();
        r.classList.remove("latency-probe--dragover");
        const f = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
        if (f) this.loadFile(f);
        else this.say("Nothing to read: drop a file (a results JSON file).", true);
      });
      if (typeof ResizeObserver === "function") {
        let width = 0;
        new ResizeObserver(() => {
          const w = this.chart.clientWidth;
          if (w !== width) { width = w; this.draw(); }
        }).observe(this.chart);
      }
    }

    say(text, isError) {
      this.message.textContent = text;
      this.message.classList.toggle("latency-probe__message--error", !!isError);
    }

    /* The largest size to try: CAP, or less on a device that reports little memory. */
    sizeCap() {
      const gib = navigator.deviceMemory;
      if (typeof gib === "number" && gib > 0 && gib * GIB / 16 < CAP) {
        const cap = 2 ** Math.floor(Math.log2(gib * GIB / 16));
        return { bytes: Math.max(cap, SMALLEST),
                 why: `a sixteenth of the memory this device reports (navigator.deviceMemory: ${gib} GiB)` };
      }
      return { bytes: CAP, why: "the probe's cap" };
    }

    async run() {
      if (this.running) return;
      this.running = true;
      const r = this.root;
      r.dataset.state = "running";
      if (this.button) { this.button.disabled = true; this.button.textContent = "Measuring…"; }
      this.results = [];
      this.summary.textContent = "";
      this.caveat.textContent = "";
      this.say("");
      try {
        this.progress.textContent = "Measuring the timer's resolution…";
        await pause();
        const res = timerResolution();
        this.resolution = res;
        const target = Math.max(SAMPLE_MS, SAMPLE_TICKS * (res || 0));
        const cap = this.sizeCap();
        const planned = Math.round(Math.log2(cap.bytes / SMALLEST)) + 1;
        this.stop = { bytes: null, why: cap.why };
        let pos = 0;
        for (let bytes = SMALLEST, n = 1; bytes <= cap.bytes; bytes *= 2, n++) {
          this.progress.textContent = `${fmtBytes(bytes)} (${n} of ${planned}): linking the lines…`;
          await pause();
          let a;
          try {
            a = await makeChain(bytes);
          } catch (err) {
            this.stop = { bytes, why: `the browser refused ${fmtBytes(bytes)} (${err.name}: ${err.message})` };
            break;
          }
          this.progress.textContent = `${fmtBytes(bytes)} (${n} of ${planned}): timing…`;
          await pause();
          pos = 0;
          // Warm-up: one full turn of the cycle, so every line has been loaded once and the
          // timed passes do not pay for the first touch. In slices, to keep the page alive.
          for (let done = 0; done < bytes / LINE; done += WARM_SLICE) {
            pos = chase(a, pos, WARM_SLICE);
            await pause();
          }
          // Calibrate: grow the hop count until a pass takes a quarter of the target, then
          // scale it to the target.
          let hops = 1024;
          let t = 0;
          for (;;) {
            const t0 = performance.now();
            pos = chase(a, pos, hops);
            t = performance.now() - t0;
            if (t >= target / 4 || hops >= 2 ** 28) break;
            hops *= 4;
            await pause();
          }
          hops = Math.min(2 ** 30, Math.ceil(1.1 * hops * target / Math.max(t, res || 0.001, 0.001)));
          // A sample shorter than the target (the calibration ran slow) is dropped, and the
          // hop count grown to suit, by four times at most: a sample the timer misread as
          // near zero once asked for 130 times the hops, and seconds per sample.
          const samples = [];
          for (let tries = 0; samples.length < REPEATS && tries < 3 * REPEATS; tries++) {
            const t0 = performance.now();
            pos = chase(a, pos, hops);
            const dt = performance.now() - t0;
            if (dt >= target || hops >= 2 ** 30) samples.push(dt * 1e6 / hops);
            else hops = Math.min(2 ** 30, Math.ceil(hops * Math.min(GROW_MAX, 1.1 * target / Math.max(dt, 0.001))));
            await pause();
          }
          if (samples.length < REPEATS) {
            throw new Error(`the samples at ${fmtBytes(bytes)} kept falling short of ${fmtMs(target)}`);
          }
          this.sink = (this.sink + pos) >>> 0;
          a = null;
          this.results.push({ bytes, ns: median(samples), repeats: REPEATS, hops, samples });
          this.draw();
        }
        this.progress.textContent = `Done: ${this.results.length} working-set sizes measured.`;
        this.finish();
        r.dataset.state = "done";
      } catch (err) {
        this.progress.textContent = "";
        this.say(`The probe stopped: ${err && err.name}: ${err && err.message}`, true);
        r.dataset.state = "failed";
      } finally {
        this.running = false;
        if (this.button) { this.button.disabled = false; this.button.textContent = "Measure again"; }
        this.sinkLine.textContent = `Checksum of the chase (shown so that the JIT compiler cannot drop the loads): ${this.sink}`;
      }
    }

    finish() {
      const res = this.results;
      const r = this.root;
      r.dataset.curve = JSON.stringify({
        sizes_bytes: res.map((p) => p.bytes),
        ns: res.map((p) => p.ns),
        repeats: res.map((p) => p.repeats),
        hops: res.map((p) => p.hops),
        timer_resolution_ms: this.resolution,
        sample_ms_min: Math.max(SAMPLE_MS, SAMPLE_TICKS * (this.resolution || 0)),
        stopped_at_bytes: this.stop.bytes,
        stopped_because: this.stop.why,
        sink: this.sink,
      });
      if (res.length < 2) {
        this.summary.textContent = `Too few sizes were measured to draw a curve. Stopped: ${this.stop.why}.`;
        return;
      }
      const first = res[0];
      const last = res[res.length - 1];
      const steps = [];
      for (let i = 1; i < res.length; i++) {
        steps.push({ from: res[i - 1].bytes, to: res[i].bytes, x: res[i].ns / res[i - 1].ns });
      }
      const big = steps.filter((s) => s.x >= 1.5).sort((p, q) => q.x - p.x).slice(0, 3)
        .sort((p, q) => p.from - q.from);
      const parts = [];
      parts.push(`In this browser a load took ${fmtNs(first.ns)} ns with ${fmtBytes(first.bytes)} to chase ` +
                 `and ${fmtNs(last.ns)} ns with ${fmtBytes(last.bytes)}: ` +
                 `${fmtNs(last.ns / first.ns)} times as long for a working set ` +
                 `${(last.bytes / first.bytes).toLocaleString("en")} times as large.`);
      if (big.length) {
        parts.push(`The biggest steps: ` + big.map((s) =>
          `from ${fmtBytes(s.from)} to ${fmtBytes(s.to)} (×${fmtNs(s.x)})`).join(", ") +
          ` — where the working set outgrows one level of cache (or the TLB's reach).`);
      } else {
        parts.push("No step between neighbouring sizes reached ×1.5: the curve is flat here, " +
                   "which usually means the timer or the JIT, not memory, set the pace.");
      }
      parts.push(`It stopped at ${fmtBytes(last.bytes)}${this.stop.bytes === null ? ", " : ": "}${this.stop.why}.`);
      this.summary.textContent = parts.join(" ");
      const caveat = [];
      if (Number.isFinite(this.resolution)) {
        const sampleMs = Math.max(SAMPLE_MS, SAMPLE_TICKS * this.resolution);
        caveat.push(`performance.now() advanced in steps of about ${fmtMs(this.resolution)} here ` +
                   `(browsers coarsen it on purpose), so each of the ${REPEATS} samples per size ran ` +
                   `for at least ${fmtMs(sampleMs)} and one step is under ` +
                   `${+(100 * this.resolution / sampleMs).toPrecision(2)}% of a sample; ` +
                   `each point is their median.`);
      }
      caveat.push("JavaScript adds a bounds check and loop work to every hop, which shows most " +
                  "where the load itself is fastest.");
      this.caveat.textContent = caveat.join(" ");
    }

    // ---------------------------------------------------------------- other staircases

    buildSeries() {
      const node = document.getElementById("build-latency");
      if (!node) return null;
      try {
        const s = staircaseFrom(JSON.parse(node.textContent));
        return { ...s, label: `The build machine${s.machine ? ` (${s.machine})` : ""}, in C` };
      } catch (err) {
        this.say(`The build machine's staircase on this page could not be read: ${err.message}`, true);
        return null;
      }
    }

    async loadFile(file) {
      if (file.size > MAX_FILE_BYTES) {
        this.say(`${file.name} is ${fmtBytes(file.size)}: larger than any results file; not read.`, true);
        return;
      }
      let doc;
      try {
        doc = JSON.parse(await file.text());
      } catch (err) {
        this.say(`${file.name} is not JSON (${err.message}). Drop the results/<machine>.json that ` +
                 `scripts/measure.py writes.`, true);
        return;
      }
      try {
        const s = staircaseFrom(doc);
        this.fileSeries = { ...s, label: `${file.name}${s.machine ? ` (${s.machine})` : ""}` };
      } catch (err) {
        this.say(`${file.name} has no latency staircase to draw: ${err.message}`, true);
        return;
      }
      this.say(`Drawn: the staircase of ${file.name}, ${this.fileSeries.points.length} sizes.`);
      this.root.dataset.file = JSON.stringify({ name: file.name,
        sizes_bytes: this.fileSeries.points.map((p) => p.bytes),
        ns: this.fileSeries.points.map((p) => p.ns) });
      this.draw();
    }

    // ---------------------------------------------------------------- the chart

    draw() {
      const series = [];
      const build = this.buildSeries();
      if (build) series.push({ ...build, cls: "build" });
      if (this.fileSeries) series.push({ ...this.fileSeries, cls: "file" });
      if (this.results.length) {
        series.push({ cls: "reader", label: "This browser, on your machine",
                      points: this.results.map((p) => ({ bytes: p.bytes, ns: p.ns, repeats: p.repeats })) });
      }
      this.chart.textContent = "";
      this.legend.textContent = "";
      if (!series.some((s) => s.cls !== "build")) return;   // nothing of the reader's yet
      this.chart.appendChild(drawChart(series, this.chart.clientWidth || 600));
      for (const s of series) {
        const li = el("li", `latency-probe__key latency-probe__key--${s.cls}`);
        li.append(el("span", "latency-probe__swatch"), s.label);
        this.legend.appendChild(li);
      }
    }
  }

  /* {points, machine} from a results file (experiments.latency.facts.staircase) or from the
   * page's own shape ({sizes_bytes, ns, machine}); throws an Error saying what is wrong. */
  function staircaseFrom(doc) {
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error("it is not a JSON object.");
    if ("sizes_bytes" in doc || "ns" in doc) {
      const sizes = doc.sizes_bytes;
      const ns = doc.ns;
      if (!Array.isArray(sizes) || !Array.isArray(ns) || sizes.length !== ns.length) {
        throw new Error('"sizes_bytes" and "ns" must be lists of the same length.');
      }
      const repeats = Array.isArray(doc.repeats) ? doc.repeats : [];
      return { points: checkedPoints(sizes.map((b, i) => ({ bytes: b, ns: ns[i], repeats: repeats[i] }))),
               machine: shortText(doc.machine) };
    }
    const exps = doc.experiments;
    if (!exps || typeof exps !== "object") {
      throw new Error('it has no "experiments": it is not a results file written by scripts/measure.py.');
    }
    const lat = exps.latency;
    if (!lat || typeof lat !== "object") {
      throw new Error("it holds no latency experiment (was it measured with --only, leaving latency out?).");
    }
    if (lat.status !== undefined && lat.status !== "ok") {
      throw new Error(`its latency experiment was not measured (${shortText(lat.status)}: ${shortText(lat.reason)}).`);
    }
    const stairs = lat.facts && lat.facts.staircase && lat.facts.staircase.value;
    if (!Array.isArray(stairs)) throw new Error("its latency experiment has no staircase (facts.staircase.value).");
    const repeats = lat.facts.repeats && lat.facts.repeats.value;
    const points = checkedPoints(stairs.map((s) => ({ bytes: s && s.bytes, ns: s && s.ns, repeats })));
    const prov = doc.provenance && typeof doc.provenance === "object" ? doc.provenance : {};
    const m = prov.machine && typeof prov.machine === "object" ? prov.machine : {};
    const scale = prov.scale && typeof prov.scale === "object" ? prov.scale.name : undefined;
    const machine = [m.cpu, m.arch, scale && scale !== "full" ? `${scale} scale` : null]
      .map(shortText).filter(Boolean).join(", ");
    return { points, machine };
  }

  function checkedPoints(raw) {
    if (raw.length < 2) throw new Error(`it has ${raw.length} point(s); a staircase needs two or more.`);
    if (raw.length > MAX_POINTS) throw new Error(`it has ${raw.length} points; more than ${MAX_POINTS} is not a staircase.`);
    const points = raw.map((p, i) => {
      const ok = (v) => typeof v === "number" && Number.isFinite(v) && v > 0;
      if (!ok(p.bytes) || !ok(p.ns)) {
        throw new Error(`point ${i + 1} is not a positive size in bytes with a positive time in ns.`);
      }
      const rep = Number.isInteger(p.repeats) && p.repeats > 0 ? p.repeats : null;
      return { bytes: p.bytes, ns: p.ns, repeats: rep };
    });
    return points.sort((p, q) => p.bytes - q.bytes);
  }

  function shortText(v) {
    if (typeof v !== "string" && typeof v !== "number") return "";
    const s = String(v).replace(/\s+/g, " ").trim();
    return s.length > 80 ? `${s.slice(0, 79)}…` : s;
  }

  /* 1-2-5 ticks covering [lo, hi]. */
  function niceTicks(lo, hi) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)) + 1; e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(+v.toPrecision(3));
      }
    }
    return out;
  }

  /* An SVG of every series: log2 size across, log ns per load up. One user unit is one CSS
   * pixel at the width it is drawn for, so the 12-13 px text stays that size on a phone. */
  function drawChart(series, width) {
    const W = Math.max(280, Math.round(width));
    const H = Math.round(Math.min(380, Math.max(260, W * 0.6)));
    const pad = { left: 46, right: 26, top: 12, bottom: 46 };
    const all = series.flatMap((s) => s.points);
    const xLo = Math.floor(Math.log2(Math.min(...all.map((p) => p.bytes))));
    const xHi = Math.max(Math.ceil(Math.log2(Math.max(...all.map((p) => p.bytes)))), xLo + 1);
    let yLo = Math.min(...all.map((p) => p.ns));
    let yHi = Math.max(...all.map((p) => p.ns));
    yLo = 10 ** (Math.floor(Math.log10(yLo) * 4) / 4);
    yHi = 10 ** (Math.ceil(Math.log10(yHi) * 4) / 4);
    if (yHi <= yLo * 2) yHi = yLo * 2;
    const pw = W - pad.left - pad.right;
    const ph = H - pad.top - pad.bottom;
    const X = (bytes) => pad.left + (Math.log2(bytes) - xLo) / (xHi - xLo) * pw;
    const Y = (ns) => pad.top + (1 - (Math.log10(ns) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * ph;

    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img",
                              class: "latency-probe__svg",
                              "aria-label": "Nanoseconds per load against working-set size, both on log scales" });
    const axes = svg("g", { class: "latency-probe__axis" }, root);
    // Size ticks on powers of two, labelled as sparsely as the width needs.
    const perOctave = pw / (xHi - xLo);
    const every = perOctave >= 44 ? 1 : perOctave >= 22 ? 2 : 4;
    for (let e = xLo; e <= xHi; e++) {
      const x = X(2 ** e);
      svg("line", { x1: x, x2: x, y1: pad.top, y2: pad.top + ph, class: "latency-probe__grid" }, axes);
      if ((e - xLo) % every === 0) {
        const t = svg("text", { x, y: pad.top + ph + 17, "text-anchor": "middle" }, axes);
        t.textContent = fmtBytes(2 ** e).replace(" ", "\u202f");
      }
    }
    // Time ticks at 1-2-5; where a decade is short, only powers of ten get a label.
    const decadePx = ph / (Math.log10(yHi) - Math.log10(yLo));
    for (const v of niceTicks(yLo, yHi)) {
      const y = Y(v);
      svg("line", { x1: pad.left, x2: pad.left + pw, y1: y, y2: y, class: "latency-probe__grid" }, axes);
      if (decadePx < 80 && !/^10*$|^0\.0*1$/.test(String(v))) continue;
      const t = svg("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end" }, axes);
      t.textContent = String(v);
    }
    svg("rect", { x: pad.left, y: pad.top, width: pw, height: ph, class: "latency-probe__frame" }, axes);
    const xt = svg("text", { x: pad.left + pw / 2, y: H - 6, "text-anchor": "middle" }, axes);
    xt.textContent = "working set (log₂ scale)";
    const yt = svg("text", { x: 0, y: 0, "text-anchor": "middle",
                             transform: `translate(13 ${pad.top + ph / 2}) rotate(-90)` }, axes);
    yt.textContent = "ns per load (log scale)";

    for (const s of series) {
      const g = svg("g", { class: `latency-probe__series latency-probe__series--${s.cls}` }, root);
      const d = s.points.map((p, i) => `${i ? "L" : "M"}${X(p.bytes).toFixed(1)} ${Y(p.ns).toFixed(1)}`).join(" ");
      svg("path", { d, class: "latency-probe__line" }, g);
      for (const p of s.points) {
        const c = svg("circle", { cx: X(p.bytes).toFixed(1), cy: Y(p.ns).toFixed(1), r: 3.5,
                                  class: `latency-probe__point latency-probe__point--${s.cls}`,
                                  "data-bytes": p.bytes, "data-ns": p.ns, "data-repeats": p.repeats ?? "" }, g);
        const title = svg("title", {}, c);
        const rep = p.repeats ? `median of ${p.repeats} repeats` : "repeats not recorded";
        title.textContent = `${s.label}: ${fmtBytes(p.bytes)}, ${fmtNs(p.ns)} ns per load (${rep})`;
      }
    }
    return root;
  }

  function init() {
    const root = document.getElementById("latency-probe");
    if (!root || root.dataset.probeReady) return;
    root.dataset.probeReady = "1";
    new Probe(root);
  }

  // mkdocs-material's instant navigation swaps pages without reloading scripts: follow it.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
