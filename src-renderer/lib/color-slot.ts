// A model's colour, as a slot of the palette (no DOM here, so tests can import it).

/** Stable colour slot (0-7) for a model, so its segment keeps its colour across readings. */
export function colorSlot(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h % 8;
}
