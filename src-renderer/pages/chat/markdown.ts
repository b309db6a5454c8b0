// A model's answer as HTML, for the Chat page. markdown-it with raw HTML off: any tag the model
// writes (<script>, <img onerror=…>) is escaped and shows as text; links go through its
// validateLink (no javascript:, vbscript:, file:, data: other than images) and open outside the
// window; images are not rendered at all (an answer must not make the window fetch a URL), their
// markup stays as a link. Code blocks get a header with their language and a Copy button (the page
// handles its click). While an answer streams, only its last block changes: splitBlocks cuts the
// text where Markdown blocks end, so the page parses each finished block once. Pure (no DOM).
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });
md.disable(['image']);

const escape = md.utils.escapeHtml;

/** The Copy button of a code block: the page finds it by this attribute. */
export const COPY_CODE_ATTR = 'data-copy-code';

function codeBlock(code: string, lang: string): string {
  const label = lang ? `<span class="code-lang">${escape(lang)}</span>` : '<span class="code-lang"></span>';
  const cls = lang ? ` class="language-${escape(lang)}"` : '';
  return (
    `<div class="code-block"><div class="code-head">${label}` +
    `<button type="button" class="code-copy" ${COPY_CODE_ATTR} aria-label="Copy code">Copy</button></div>` +
    `<pre><code${cls}>${escape(code)}</code></pre></div>\n`
  );
}

md.renderer.rules.fence = (tokens, idx) => {
  const token = tokens[idx]!;
  // The info string's first word is the language ("```ts title=x" → "ts").
  const lang = token.info.trim().split(/\s+/)[0] ?? '';
  return codeBlock(token.content, lang.slice(0, 40));
};
md.renderer.rules.code_block = (tokens, idx) => codeBlock(tokens[idx]!.content, '');

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  token.attrSet('target', '_blank');
  token.attrSet('rel', 'noopener noreferrer nofollow');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

// Wide tables scroll inside the answer instead of widening the conversation.
md.renderer.rules.table_open = () => '<div class="table-scroll"><table>\n';
md.renderer.rules.table_close = () => '</table></div>\n';

/** The HTML of a Markdown text; never contains markup the text itself spelled out. */
export function renderMarkdown(text: string): string {
  return md.render(text);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const CONTINUES = /^(\s|[-*+](\s|$)|\d{1,9}[.)](\s|$))/;

/**
 * The text cut into runs of whole Markdown blocks: at a blank line outside a code fence, when the
 * next line starts a new block (not an indented line or a list item, which may belong to the
 * block before). Rendering the pieces one by one gives what rendering the whole gives (reference
 * links defined in another piece aside), and joined they are the text.
 */
export function splitBlocks(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let fence: string | null = null;
  let blankBefore = false;
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const end = nl === -1 ? text.length : nl + 1;
    const line = text.slice(at, nl === -1 ? text.length : nl);
    const marker = FENCE.exec(line)?.[1];
    if (fence !== null) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = null;
    } else if (line.trim() === '') {
      blankBefore = true;
    } else {
      if (blankBefore && at > start && !CONTINUES.test(line)) {
        pieces.push(text.slice(start, at));
        start = at;
      }
      blankBefore = false;
      if (marker) fence = marker;
    }
    at = end;
  }
  if (start < text.length || pieces.length === 0) pieces.push(text.slice(start));
  return pieces;
}
