// Try a model the way an app would: chat with streaming, or an embedding / a rerank.
import { memo, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { ModelInfo } from '../../../src-shared/contract.js';
import type { ModelMode } from '../../../src-shared/config.js';
import { CopyButton, EmptyState, ErrorNotice, PageHeader, Skeleton } from '../../app/common.js';
import { ChevronIcon } from '../../app/icons.js';
import { useModels } from '../../api/queries.js';
import { useNow } from '../../lib/clock.js';
import { formatMs, formatRate } from '../../lib/format.js';
import { hrefFor, useRoute } from '../../lib/router.js';
import { useStore } from '../../lib/store.js';
import { useToastClearance } from '../../app/Toasts.js';
import { copyText } from '../../lib/clipboard.js';
import { errorText } from '../../lib/toasts.js';
import { renderMarkdown, splitBlocks } from './markdown.js';
import { streamChat } from './openai.js';
import {
  chatSettings,
  chatTurns,
  clearConversation,
  continueEarlier,
  earlierConversation,
  isStreaming,
  regenerate,
  sendMessage,
  stopStreaming,
  switchModel,
  type Turn,
} from './session.js';
import { ModelPicker } from './ModelPicker.js';
import { EmbeddingTry, RerankTry } from './Tries.js';

type Tab = 'chat' | 'embeddings' | 'rerank';
const TABS: { id: Tab; label: string; mode: ModelMode }[] = [
  { id: 'chat', label: 'Chat', mode: 'Chat' },
  { id: 'embeddings', label: 'Embeddings', mode: 'Embedding' },
  { id: 'rerank', label: 'Rerank', mode: 'Reranker' },
];

export function ChatPage() {
  const route = useRoute();
  const tab: Tab = route.param === 'embeddings' || route.param === 'rerank' ? route.param : 'chat';
  const models = useModels();
  const mode = TABS.find((t) => t.id === tab)!.mode;
  const usable = (models.data ?? []).filter((m) => m.mode === mode);

  return (
    <div className="page-body page-fill">
      <PageHeader title="Chat">
        <div className="segmented" role="tablist" aria-label="What to try">
          {TABS.map((t) => (
            <a key={t.id} role="tab" aria-selected={t.id === tab} href={hrefFor('chat', t.id === 'chat' ? null : t.id)} className="segment">
              {t.label}
            </a>
          ))}
        </div>
      </PageHeader>
      {models.isError && !models.data ? (
        <ErrorNotice title="Couldn't load the models" message={errorText(models.error)} retry={() => void models.refetch()} />
      ) : !models.data ? (
        <div className="chat-skeleton">
          <Skeleton width="16em" height="2em" />
        </div>
      ) : usable.length === 0 ? (
        <EmptyState title={`No ${mode} models`}>
          <p>
            Add a model with <code className="mono">mode: &quot;{mode}&quot;</code> in <a href={hrefFor('config')}>Config</a> to try it here.
          </p>
        </EmptyState>
      ) : tab === 'chat' ? (
        <ChatTab models={usable} />
      ) : tab === 'embeddings' ? (
        <EmbeddingTry models={usable} />
      ) : (
        <RerankTry models={usable} />
      )}
    </div>
  );
}

function ChatTab({ models }: { models: ModelInfo[] }) {
  const settings = useStore(chatSettings);
  const turns = useStore(chatTurns);
  const earlier = useStore(earlierConversation);
  const now = useNow();
  const [draft, setDraft] = useState('');
  const [showSettings, setShowSettings] = useState(false);
  const log = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLDivElement>(null);
  useToastClearance(composer);
  const streaming = isStreaming();
  const model = settings.model && models.some((m) => m.name === settings.model) ? settings.model : models[0]!.name;
  const info = models.find((m) => m.name === model);
  const cold = info?.state !== 'ready';

  useEffect(() => {
    if (settings.model !== model) chatSettings.set((s) => ({ ...s, model }));
  }, [model, settings.model]);

  // Keep the newest text in view while it streams, unless the user scrolled away.
  useEffect(() => {
    const el = log.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [turns]);

  const send = () => {
    const text = draft.trim();
    if (!text || streaming) return;
    setDraft('');
    void sendMessage(text, cold, streamChat);
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };
  const again = useCallback(() => void regenerate(cold, streamChat), [cold]);
  const lastId = turns.at(-1)?.id;

  return (
    <div className="chat">
      <div className="chat-bar">
        <ModelPicker models={models} value={model} onChange={switchModel} now={now} disabled={streaming} />
        <button type="button" className="button button-quiet" aria-expanded={showSettings} aria-controls="chat-settings" onClick={() => setShowSettings((v) => !v)}>
          <ChevronIcon open={showSettings} /> Settings
        </button>
        <button type="button" className="button button-quiet" disabled={streaming || turns.length === 0} onClick={clearConversation}>
          Clear
        </button>
      </div>
      {showSettings && (
        <div className="chat-settings" id="chat-settings">
          <label className="field">
            <span>System prompt</span>
            <textarea rows={3} value={settings.system} placeholder="You are a helpful assistant." onChange={(e) => chatSettings.set((s) => ({ ...s, system: e.target.value }))} />
          </label>
          <label className="field field-temp">
            <span>
              Temperature <span className="num">{settings.temperature.toFixed(1)}</span>
            </span>
            <input type="range" min={0} max={2} step={0.1} value={settings.temperature} onChange={(e) => chatSettings.set((s) => ({ ...s, temperature: Number(e.target.value) }))} />
          </label>
        </div>
      )}
      <div className="conversation" ref={log} aria-live="polite" data-testid="conversation" onClick={copyCode}>
        {turns.length === 0 ? (
          <div className="conversation-empty muted">
            <p>
              {earlier ? 'New conversation with ' : 'Send a message to '}
              <strong>{model}</strong>. It answers through the same endpoint your apps use.
            </p>
            {earlier && (
              <p>
                <button type="button" className="button" onClick={continueEarlier} data-testid="continue-earlier">
                  Continue the conversation with {earlier.model} instead
                </button>
                <span className="small continue-note">
                  {model} gets its {countQuestions(earlier.turns)} and the answers {earlier.model} gave.
                </span>
              </p>
            )}
          </div>
        ) : (
          turns.map((turn) => <TurnView key={turn.id} turn={turn} onRegenerate={turn.id === lastId && !streaming ? again : undefined} />)
        )}
      </div>
      <div className="composer" ref={composer}>
        <textarea
          rows={2}
          value={draft}
          placeholder={`Message ${model} (Enter to send, Shift+Enter for a new line)`}
          aria-label="Message"
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKey}
          data-testid="chat-input"
        />
        {streaming ? (
          <button type="button" className="button button-danger" onClick={stopStreaming} data-testid="chat-stop">
            Stop
          </button>
        ) : (
          <button type="button" className="button button-primary" onClick={send} disabled={!draft.trim()} data-testid="chat-send">
            Send
          </button>
        )}
      </div>
    </div>
  );
}

function countQuestions(turns: readonly Turn[]): string {
  const n = turns.filter((t) => t.role === 'user').length;
  return n === 1 ? 'question' : `${n} questions`;
}

/** A code block's Copy button (rendered inside the Markdown's HTML): copies that block's code. */
function copyCode(e: MouseEvent<HTMLDivElement>): void {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>('[data-copy-code]');
  const code = button?.closest('.code-block')?.querySelector('code');
  if (!button || !code) return;
  void copyText(code.textContent ?? '').then((ok) => {
    button.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
}

/**
 * An answer's Markdown. Cut into runs of whole blocks, each parsed once: while an answer streams,
 * each frame parses only its last block, however long the answer has grown.
 */
const Markdown = memo(function Markdown({ text }: { text: string }) {
  const blocks = useMemo(() => splitBlocks(text), [text]);
  return (
    <div className="markdown">
      {blocks.map((block, i) => (
        <MarkdownBlocks key={i} text={block} />
      ))}
    </div>
  );
});

const MarkdownBlocks = memo(function MarkdownBlocks({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return <div className="md-blocks" dangerouslySetInnerHTML={{ __html: html }} />;
});

/**
 * One message. Memoised: a turn the stream isn't writing keeps its identity (session.ts), so only
 * the answer being streamed re-renders per token, not the whole conversation.
 */
const TurnView = memo(function TurnView({ turn, onRegenerate }: { turn: Turn; onRegenerate: (() => void) | undefined }) {
  if (turn.role === 'user') {
    return (
      <div className="turn turn-user" data-testid="user-turn">
        <div className="bubble">{turn.content}</div>
        <div className="turn-actions turn-actions-user">
          <CopyButton text={turn.content} label="Copy message" />
        </div>
      </div>
    );
  }
  const waiting = turn.status === 'streaming' && turn.content === '';
  // Stopped before the first token: nothing came from the model, so there is nothing to measure.
  const unanswered = turn.status === 'stopped' && turn.ttftMs == null;
  const streaming = turn.status === 'streaming';
  return (
    <div className={`turn turn-assistant status-${turn.status}`} data-testid="assistant-turn" data-status={turn.status}>
      <div className="turn-who muted small">{turn.model}</div>
      {(turn.content !== '' || waiting) && (
        <div className={`answer${streaming ? ' is-streaming' : ''}`} data-testid="answer">
          {waiting ? <span className="muted">{turn.coldStart ? `Starting ${turn.model}…` : 'Thinking…'}</span> : <Markdown text={turn.content} />}
        </div>
      )}
      {turn.status === 'error' && (
        <p className="turn-error" role="alert">
          {turn.error} Check the model on the <a href={hrefFor('models')}>Models</a> page or its <a href={hrefFor('logs', turn.model ?? null)}>log</a>.
        </p>
      )}
      {!streaming && (
        <div className="turn-foot">
          {unanswered ? (
            <p className="turn-metrics muted small" data-testid="turn-metrics">
              <span className="stopped">Stopped</span> {turn.coldStart ? `while ${turn.model} was starting` : `before ${turn.model} answered`}.
            </p>
          ) : (
            (turn.status === 'done' || turn.status === 'stopped') && (
              <p className="turn-metrics muted small" data-testid="turn-metrics">
                {turn.status === 'stopped' && <span className="stopped">Stopped · </span>}
                {turn.status === 'done' && turn.content === '' && <>No text in the answer · </>}
                <span className="num">{formatRate(turn.tokens ?? 0, turn.genMs ?? 0)}</span>
                {' · '}first token <span className="num">{formatMs(turn.ttftMs ?? null)}</span>
                {turn.coldStart && ' (includes starting the model)'}
                {' · '}
                <span className="num">{turn.tokens ?? 0}</span> tokens
              </p>
            )
          )}
          <div className="turn-actions">
            {turn.content !== '' && <CopyButton text={turn.content} label="Copy message" />}
            {onRegenerate && (
              <button type="button" className="button button-quiet button-small" onClick={onRegenerate} data-testid="regenerate">
                {turn.status === 'error' || unanswered ? 'Try again' : 'Regenerate'}
              </button>
            )}
          </div>
        </div>
      )}
    </div>
  );
});
