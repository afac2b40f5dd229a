// Charts drawn by the console itself: SVG built with createElementNS, sized to the pixels
// it has (a ResizeObserver redraws it), so labels stay readable from a phone to a wide screen.

import { h, svg } from "./dom.js";
import { formatInt } from "./format.js";

function niceMax(value) {
  if (value <= 0) return 4;
  const exponent = Math.floor(Math.log10(value));
  const base = 10 ** exponent;
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * base >= value) return step * base;
  }
  return 10 * base;
}

function compact(value) {
  if (value >= 1e9) return `${+(value / 1e9).toFixed(1)}B`;
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${+(value / 1e3).toFixed(1)}k`;
  return value.toLocaleString();
}

/**
 * A vertical bar chart. points: [{label, value (int64 string or number), title}].
 * The values' exact digits stay in each bar's <title>; geometry uses their ratio only.
 */
export function barChart(points, { height = 220, label = "Chart", unit = "" } = {}) {
  const container = h("div", { class: "chart" });
  const draw = (width) => {
    if (width < 10) return;
    const margin = { top: 12, right: 8, bottom: 26, left: 44 };
    const innerWidth = width - margin.left - margin.right;
    const innerHeight = height - margin.top - margin.bottom;
    const values = points.map((p) => Number(p.value));
    const max = niceMax(Math.max(0, ...values));
    const slot = innerWidth / Math.max(1, points.length);
    const barWidth = Math.max(2, Math.min(28, slot * 0.7));
    const labelEvery = Math.max(1, Math.ceil(60 / slot));
    const root = svg("svg", {
      width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart-svg",
    });
    const ticks = 4;
    for (let i = 0; i <= ticks; i += 1) {
      const y = margin.top + innerHeight - (innerHeight * i) / ticks;
      root.append(
        svg("line", { x1: margin.left, x2: width - margin.right, y1: y, y2: y, class: i === 0 ? "chart-axis" : "chart-grid" }),
        svg("text", { x: margin.left - 8, y: y + 4, "text-anchor": "end", class: "chart-label" }, compact((max * i) / ticks)));
    }
    points.forEach((point, index) => {
      const value = Number(point.value);
      const barHeight = max > 0 ? (innerHeight * value) / max : 0;
      const x = margin.left + slot * index + (slot - barWidth) / 2;
      const group = svg("g", { class: "chart-bar" },
        svg("title", null, point.title || `${point.label}: ${formatInt(point.value)}${unit}`),
        // A full-height transparent target keeps every day hoverable, even at zero.
        svg("rect", { x: margin.left + slot * index, y: margin.top, width: slot, height: innerHeight, class: "chart-hit" }),
        svg("rect", {
          x, y: margin.top + innerHeight - barHeight, width: barWidth, height: Math.max(0, barHeight), rx: Math.min(3, barWidth / 3), class: "chart-value",
        }));
      root.append(group);
      const isLast = index === points.length - 1;
      if (index % labelEvery === 0 || isLast) {
        if (isLast && index % labelEvery !== 0 && index % labelEvery < labelEvery / 2) return;
        root.append(svg("text", { x: x + barWidth / 2, y: height - 8, "text-anchor": "middle", class: "chart-label" }, point.label));
      }
    });
    container.replaceChildren(root);
  };
  let lastWidth = 0;
  const observer = new ResizeObserver((entries) => {
    if (!container.isConnected) { observer.disconnect(); return; }
    const width = Math.floor(entries[0].contentRect.width);
    if (width !== lastWidth) { lastWidth = width; draw(width); }
  });
  observer.observe(container);
  return container;
}

/** Horizontal proportion bars for a short list: [{label (node), value, href}]. */
export function proportionList(items) {
  const max = Math.max(1, ...items.map((i) => Number(i.value)));
  return h("ul", { class: "proportions" }, items.map((item) => {
    const share = Number(item.value) / max;
    const bar = svg("svg", { class: "proportion-bar", viewBox: "0 0 100 8", preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" },
      svg("rect", { x: 0, y: 0, width: 100, height: 8, rx: 4, class: "proportion-track" }),
      svg("rect", { x: 0, y: 0, width: Math.max(share > 0 ? 2 : 0, share * 100), height: 8, rx: 4, class: `proportion-fill ${item.tone ? `fill-${item.tone}` : ""}` }));
    const labelNode = item.href ? h("a", { href: item.href }, item.label) : h("span", null, item.label);
    return h("li", null, h("div", { class: "proportion-head" }, labelNode, h("span", { class: "num" }, formatInt(item.value))), bar);
  }));
}
