// "Add model" on the Config page: a commented, valid block for a common engine, put at the end of
// Local-Models with a name and a port no other model uses. Text in, text out (the editor applies it
// as one change, so Ctrl+Z takes it back): the rest of the file, comments included, stays as it is.
import { parseDocument } from 'yaml';

export type TemplateId = 'llama.cpp' | 'vllm' | 'sglang' | 'script';

export const MODEL_TEMPLATES: readonly { id: TemplateId; label: string }[] = [
  { id: 'llama.cpp', label: 'llama.cpp server (GPU, CPU fallback)' },
  { id: 'vllm', label: 'vLLM' },
  { id: 'sglang', label: 'SGLang' },
  { id: 'script', label: 'Your own script (.bat / .sh)' },
];

const HF_MODEL = 'Qwen/Qwen2.5-7B-Instruct';

/** The lines of a model's body (below its name), at two spaces a level. */
function body(id: TemplateId, name: string, port: number): string[] {
  const head = ['aliases: []', 'mode: "Chat"', `port: ${port}                   # or leave it out: a free one is given at each start`];
  // vLLM and SGLang: one GPU profile, serving a Hugging Face model (under this model's name).
  const served = (engine: 'vllm' | 'sglang') => [
    ...head,
    'start_timeout: "10m"           # loading and compiling take minutes',
    'GPU-Config:',
    '  required_devices: ["gpu0"]',
    '  memory_mb: { "gpu0": 20000 }',
    `  engine: ${engine}                # program.engines.${engine} names its program, else ${engine === 'vllm' ? '"vllm" on PATH' : 'python3 -m sglang.launch_server'}`,
    `  model: "${HF_MODEL}"   # a Hugging Face id, or a model folder`,
    '  gpu_memory_utilization: 0.85',
    '  extra_args: []               # more flags of the engine, as a list',
  ];
  switch (id) {
    case 'llama.cpp':
      return [
        ...head,
        'GPU-Config:                    # tried first: the GPU must be online with this much free',
        '  required_devices: ["gpu0"]',
        '  memory_mb: { "gpu0": 8000 }',
        '  engine: llama.cpp            # runs llama-server (program.engines.llama_server, else PATH)',
        `  model: "models/${name}.gguf"`,
        '  gpu_layers: 99',
        '  context: 8192',
        'CPU-Config:                    # otherwise: no GPU needed',
        '  required_devices: []',
        '  engine: llama.cpp',
        `  model: "models/${name}.gguf"`,
        '  gpu_layers: 0',
        '  context: 8192',
      ];
    case 'vllm':
      return served('vllm');
    case 'sglang':
      return served('sglang');
    case 'script':
      return [
        ...head,
        'Default-Config:',
        '  required_devices: []          # e.g. ["gpu0"] with memory_mb: { "gpu0": 8000 }',
        `  script_path: "scripts/${name}.sh"   # .bat on Windows; it must listen on $PORT (%PORT%)`,
        '  args: ["--port", "${PORT}"]   # passed to the script; ${PORT}, ${MODEL_NAME} and ${MODEL_PATH} are filled in',
      ];
  }
}

export interface ModelInsert {
  /** The text from `from` to `to` becomes `insert` (one editor change). */
  from: number;
  to: number;
  insert: string;
  /** The new model's name, and where it sits in the text after the change (to select it for renaming). */
  name: string;
  nameFrom: number;
  nameTo: number;
}

/** Where and what to insert for a new model from template `id`. Works on a file with errors too. */
export function planModelInsert(text: string, id: TemplateId): ModelInsert {
  const { names, ports } = taken(text);
  let name = 'new-model';
  for (let n = 2; names.has(name.toLowerCase()); n++) name = `new-model-${n}`;
  let port = 10001;
  while (ports.has(port)) port++;

  const lines = text.split('\n');
  const offset = (line: number) => lines.slice(0, line).reduce((sum, l) => sum + l.length + 1, 0);
  const header = lines.findIndex((line) => /^Local-Models\s*:/.test(line));
  let indent = '  ';
  let from: number;
  let to: number;
  let insert: string;
  if (header === -1) {
    // No Local-Models yet: a new section at the end.
    from = to = text.length;
    const lead = (text !== '' && !text.endsWith('\n') ? '\n' : '') + (text.trim() !== '' ? '\n' : '');
    insert = `${lead}Local-Models:\n${block(id, name, port, indent)}\n`;
  } else {
    // The section runs to the next top-level key; blank lines and comments at its end stay below.
    let end = lines.length;
    for (let i = header + 1; i < lines.length; i++) {
      if (/^[^\s#]/.test(lines[i]!)) {
        end = i;
        break;
      }
    }
    let last = end - 1;
    while (last > header && /^\s*(#.*)?$/.test(lines[last]!)) last--;
    const child = lines.slice(header + 1, end).find((line) => /^\s+[^\s#]/.test(line));
    if (child) indent = /^(\s+)/.exec(child)![1]!;
    const inline = /^(Local-Models\s*:)\s*\{\s*\}\s*(#.*)?$/.exec(lines[header]!);
    if (inline && last === header) {
      // "Local-Models: {}" (no models yet) becomes a block mapping.
      from = offset(header);
      to = from + lines[header]!.length;
      insert = `Local-Models:\n${block(id, name, port, indent)}`;
    } else {
      from = to = offset(last) + lines[last]!.length;
      insert = `\n${block(id, name, port, indent)}${to === text.length ? '\n' : ''}`;
    }
  }
  const nameFrom = from + insert.indexOf(`\n${indent}${name}:`) + 1 + indent.length;
  return { from, to, insert, name, nameFrom, nameTo: nameFrom + name.length };
}

/** The model's lines: its name at `indent`, its body a level deeper (the template's two spaces a level become `indent`). */
function block(id: TemplateId, name: string, port: number, indent: string): string {
  const lines = body(id, name, port).map((line) => {
    const depth = /^ */.exec(line)![0].length / 2;
    return indent.repeat(2 + depth) + line.trimStart();
  });
  return [`${indent}${name}:`, ...lines].join('\n');
}

/** Model names, aliases and ports already in the text (read leniently: the file may have errors). */
function taken(text: string): { names: Set<string>; ports: Set<number> } {
  const names = new Set<string>();
  const ports = new Set<number>();
  let root: unknown = null;
  try {
    root = parseDocument(text, { uniqueKeys: false }).toJS({ maxAliasCount: 100 });
  } catch {
    root = null;
  }
  const record = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (record(root)) {
    const program = (root as Record<string, unknown>)['program'];
    if (record(program)) ports.add(Number((program as Record<string, unknown>)['port'] ?? 8080));
    const models = (root as Record<string, unknown>)['Local-Models'];
    if (record(models)) {
      for (const [name, model] of Object.entries(models as Record<string, unknown>)) {
        names.add(name.toLowerCase());
        if (!record(model)) continue;
        const m = model as Record<string, unknown>;
        if (Array.isArray(m['aliases'])) for (const alias of m['aliases']) names.add(String(alias).toLowerCase());
        ports.add(Number(m['port']));
      }
    }
  }
  // Whatever the parse missed (a file with errors): every "port: N" in it.
  for (const match of text.matchAll(/^\s*port\s*:\s*"?(\d+)/gm)) ports.add(Number(match[1]));
  for (const match of text.matchAll(/^\s{1,8}([^\s#:][^:]*):\s*(#.*)?$/gm)) names.add(match[1]!.trim().toLowerCase());
  return { names, ports };
}
