#!/usr/bin/env node
// Draws the app and tray icons and writes them as PNG (and the Windows .ico) into resources/.
// No dependencies: shapes are signed-distance functions (anti-aliased by their distance to the
// edge), PNGs are written with node:zlib. The output is deterministic; run it again after a change:
//   node scripts/make-icons.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'resources');

// ---- shapes: signed distance in icon units (0..1 across the icon), negative inside ----------

const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r;
const ring = (cx, cy, r, width) => (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) - width / 2;
const segment = (ax, ay, bx, by, width) => (x, y) => {
  const px = x - ax;
  const py = y - ay;
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, (px * dx + py * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - dx * t, py - dy * t) - width / 2;
};
const roundedSquare = (inset, radius) => (x, y) => {
  const half = 0.5 - inset - radius;
  const qx = Math.abs(x - 0.5) - half;
  const qy = Math.abs(y - 0.5) - half;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
};
const union = (...shapes) => (x, y) => Math.min(...shapes.map((s) => s(x, y)));
const subtract = (a, b) => (x, y) => Math.max(a(x, y), -b(x, y));
/** A ring with a wedge cut out around `angle` (radians, 0 = right, counter-clockwise on screen). */
const openRing = (cx, cy, r, width, angle, gap) => (x, y) => {
  const d = ring(cx, cy, r, width)(x, y);
  const a = Math.atan2(-(y - cy), x - cx);
  let diff = Math.abs(a - angle) % (2 * Math.PI);
  if (diff > Math.PI) diff = 2 * Math.PI - diff;
  if (diff > gap / 2) return d;
  // Inside the gap: the distance to the nearest end of the arc.
  const ends = [angle - gap / 2, angle + gap / 2].map((e) => Math.hypot(x - (cx + r * Math.cos(e)), y - (cy - r * Math.sin(e))) - width / 2);
  return Math.min(...ends);
};

// ---- raster -----------------------------------------------------------------------------------

const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);

/** layers: [{ shape, color: [r,g,b] | (x,y)=>[r,g,b], alpha? }] painted in order. */
function render(size, layers) {
  const px = new Float64Array(size * size * 4); // premultiplied RGBA
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const x = (i + 0.5) / size;
      const y = (j + 0.5) / size;
      const o = (j * size + i) * 4;
      for (const layer of layers) {
        const coverage = Math.max(0, Math.min(1, 0.5 - layer.shape(x, y) * size));
        if (coverage === 0) continue;
        const a = coverage * (layer.alpha ?? 1);
        const [r, g, b] = typeof layer.color === 'function' ? layer.color(x, y) : layer.color;
        px[o] = r * a + px[o] * (1 - a);
        px[o + 1] = g * a + px[o + 1] * (1 - a);
        px[o + 2] = b * a + px[o + 2] * (1 - a);
        px[o + 3] = a + px[o + 3] * (1 - a);
      }
    }
  }
  const rgba = Buffer.alloc(size * size * 4);
  for (let k = 0; k < size * size; k++) {
    const a = px[k * 4 + 3];
    for (let c = 0; c < 3; c++) rgba[k * 4 + c] = a > 0 ? Math.round(Math.min(1, px[k * 4 + c] / a) * 255) : 0;
    rgba[k * 4 + 3] = Math.round(a * 255);
  }
  return rgba;
}

function png(size, rgba) {
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) rgba.copy(rows, j * (size * 4 + 1) + 1, j * size * 4, (j + 1) * size * 4); // filter 0 per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An .ico holding PNG images (Windows Vista and later read these; electron-builder wants 256 px). */
function ico(images) {
  const header = Buffer.alloc(6 + images.length * 16);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, data }, n) => {
    const e = 6 + n * 16;
    header[e] = size >= 256 ? 0 : size;
    header[e + 1] = size >= 256 ? 0 : size;
    header.writeUInt16LE(1, e + 4); // planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(data.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([header, ...images.map((i) => i.data)]);
}

// ---- the designs ------------------------------------------------------------------------------

// The app: three models feeding one endpoint, on an indigo-to-violet tile.
const top = hex('#4f46e5');
const bottom = hex('#7c3aed');
const tile = roundedSquare(0.06, 0.2);
const satellites = [0.28, 0.5, 0.72].map((x) => [x, 0.3]);
const hub = [0.5, 0.66];
const glyph = union(
  ...satellites.map(([x, y]) => circle(x, y, 0.065)),
  // The lines stop at the ring, so its middle stays open.
  subtract(union(...satellites.map(([x, y]) => segment(x, y, hub[0], hub[1], 0.04))), circle(hub[0], hub[1], 0.1)),
  ring(hub[0], hub[1], 0.1, 0.06),
);
const appLayers = [
  { shape: tile, color: (_x, y) => top.map((t, c) => t + (bottom[c] - t) * y) },
  { shape: glyph, color: [1, 1, 1] },
];

// The tray: a disc in the state's colour, with a white mark whose shape also tells the state.
const trayStates = {
  idle: { color: '#8a8f98', mark: ring(0.5, 0.5, 0.2, 0.11) },
  starting: { color: '#d97706', mark: openRing(0.5, 0.5, 0.2, 0.11, Math.PI / 4, Math.PI / 2) },
  running: { color: '#16a34a', mark: circle(0.5, 0.5, 0.21) },
  error: { color: '#dc2626', mark: union(segment(0.5, 0.27, 0.5, 0.56, 0.12), circle(0.5, 0.73, 0.065)) },
};
const trayLayers = ({ color, mark }) => [
  { shape: circle(0.5, 0.5, 0.48), color: [0, 0, 0], alpha: 0.35 },
  { shape: circle(0.5, 0.5, 0.44), color: hex(color) },
  { shape: mark, color: [1, 1, 1] },
];

// ---- write ------------------------------------------------------------------------------------

const written = [];
const write = (file, data) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, data);
  written.push(path.relative(root, file));
};
const appPng = (size) => png(size, render(size, appLayers));

write(path.join(out, 'icon.png'), appPng(512));
for (const size of [32, 48, 64, 128, 256, 512]) write(path.join(out, 'icons', `${size}x${size}.png`), appPng(size));
write(path.join(out, 'icon.ico'), ico([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, data: appPng(size) }))));
for (const [state, design] of Object.entries(trayStates)) {
  // Electron picks name@2x.png on high-DPI screens by itself.
  write(path.join(out, 'tray', `${state}.png`), png(16, render(16, trayLayers(design))));
  write(path.join(out, 'tray', `${state}@2x.png`), png(32, render(32, trayLayers(design))));
}
process.stdout.write(`wrote ${written.length} files:\n  ${written.join('\n  ')}\n`);
