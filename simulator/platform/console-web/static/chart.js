// @ts-check
/**
 * A line chart of devices online over time, drawn as SVG (no chart library to fetch): the last
 * `windowMs` of samples, the y axis from 0 to a rounded maximum.
 */

const SVG = "http://www.w3.org/2000/svg";

/**
 * @param {string} name
 * @param {Record<string, string | number>} attributes
 */
function element(name, attributes) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

/** @param {number} value */
function niceMaximum(value) {
  if (value <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

/** @param {number} ms */
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

export class OnlineChart {
  /**
   * @param {SVGSVGElement} svg
   * @param {number} [windowMs]
   */
  constructor(svg, windowMs = 10 * 60 * 1000) {
    this.svg = svg;
    this.windowMs = windowMs;
    /** @type {Array<{ time: number, online: number }>} */
    this.samples = [];
  }

  /** @param {Array<{ time: number, online: number }>} samples */
  reset(samples) {
    this.samples = samples.slice();
    this.render();
  }

  /** @param {{ time: number, online: number }} sample */
  add(sample) {
    this.samples.push(sample);
    const oldest = sample.time - this.windowMs;
    while (this.samples.length > 2 && this.samples[0].time < oldest) this.samples.shift();
    this.render();
  }

  render() {
    const width = 600;
    const height = 180;
    const left = 44;
    const bottom = 22;
    const top = 10;
    const right = 10;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.svg.replaceChildren();
    const last = this.samples.at(-1);
    const end = last ? last.time : Date.now();
    // A young platform's short history fills the width: from one minute up to the whole window.
    const span = Math.min(this.windowMs, Math.max(60 * 1000, end - (this.samples[0]?.time ?? end)));
    const start = end - span;
    const visible = this.samples.filter((sample) => sample.time >= start);
    const maximum = niceMaximum(Math.max(0, ...visible.map((sample) => sample.online)));
    const x = (/** @type {number} */ time) => left + ((time - start) / span) * (width - left - right);
    const y = (/** @type {number} */ value) => height - bottom - (value / maximum) * (height - bottom - top);
    for (const fraction of [0, 0.5, 1]) {
      const value = maximum * fraction;
      this.svg.append(element("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }));
      const label = element("text", { x: left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" });
      label.textContent = String(Math.round(value));
      this.svg.append(label);
    }
    for (const [time, anchor] of /** @type {Array<[number, string]>} */ ([[start, "start"], [end, "end"]])) {
      const label = element("text", { x: x(time), y: height - 6, class: "axis", "text-anchor": anchor });
      label.textContent = clock(time);
      this.svg.append(label);
    }
    if (visible.length > 0) {
      const points = visible.map((sample) => `${x(sample.time).toFixed(1)},${y(sample.online).toFixed(1)}`);
      points.push(`${x(end).toFixed(1)},${y(visible.at(-1)?.online ?? 0).toFixed(1)}`);
      this.svg.append(element("polyline", { points: points.join(" "), class: "line" }));
    }
    this.svg.dataset.online = String(last?.online ?? 0);
  }
}
