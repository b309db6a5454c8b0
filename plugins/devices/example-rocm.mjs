// Example device plugin: AMD GPUs through `rocm-smi --json`. Copy it into the folder named by
// program.device_plugin_dir (this folder, in the example config) and LLM Manager polls it with
// the built-in probes; profiles then match these cards by name ("7900", "radeon") or by id
// ("plugin:rocm:0").
//
// The plugin interface (any .js / .mjs file in that folder):
//   export const name = 'rocm';                  optional; device ids become plugin:<name>:<index>
//   export async function probe({ run, timeoutMs }) → an array of devices:
//     { name: string,                            required: matched by required_devices / memory_mb
//       online?: boolean,                        default true
//       offlineReason?: string,                  shown when offline
//       index?: number, vendor?: string,
//       memory?: { totalMb: number, freeMb: number, usedMb?: number } | null,
//       utilizationPct?: number, temperatureC?: number, powerW?: number }
//   run(file, args) runs a command with the probe's time limit (3 s) and resolves with
//   { stdout, stderr, code }; it rejects when the command is missing, fails or runs too long.
// A plugin that throws while loading, throws or hangs in probe(), or returns anything else than
// such an array is logged and skipped; the node carries on without it. Never load a GPU runtime
// into the node's process from here: shell out, as below.

export const name = 'rocm';

const MB = 1024 * 1024;

export async function probe({ run }) {
  let stdout;
  try {
    ({ stdout } = await run('rocm-smi', ['--showproductname', '--showmeminfo', 'vram', '--showuse', '--showtemp', '--showpower', '--json']));
  } catch (err) {
    // No rocm-smi (no AMD driver) or a failing one: one offline entry that says why.
    return [{ name: 'AMD GPU (rocm-smi)', vendor: 'amd', online: false, offlineReason: err.message }];
  }
  const cards = JSON.parse(stdout);
  return Object.entries(cards)
    .filter(([key]) => /^card\d+$/i.test(key))
    .map(([key, fields]) => {
      const field = (pattern) => Object.entries(fields).find(([k]) => pattern.test(k))?.[1];
      const number = (pattern) => {
        const value = Number.parseFloat(field(pattern));
        return Number.isFinite(value) ? value : null;
      };
      const total = number(/^VRAM Total Memory \(B\)$/i);
      const used = number(/^VRAM Total Used Memory \(B\)$/i);
      return {
        name: String(field(/^card series$/i) ?? field(/^card model$/i) ?? field(/device name/i) ?? `AMD GPU ${key}`),
        vendor: 'amd',
        index: Number(key.slice(4)),
        online: true,
        memory: total !== null && used !== null ? { totalMb: Math.round(total / MB), usedMb: Math.round(used / MB), freeMb: Math.round((total - used) / MB) } : null,
        utilizationPct: number(/^GPU use \(%\)$/i),
        temperatureC: number(/temperature.*edge.*\(C\)/i) ?? number(/temperature.*\(C\)/i),
        powerW: number(/power.*\(W\)/i),
      };
    });
}
