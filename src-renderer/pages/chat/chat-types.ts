// The Chat page's types apart from the code that fetches (openai.ts), so session.ts and its tests
// need no browser.

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface StreamResult {
  finishReason: string | null;
  /** completion_tokens when the engine reports usage, else null. */
  completionTokens: number | null;
  /** Content chunks received (a fallback token count). */
  chunks: number;
}

/** Streams a chat completion, calling onDelta with each piece of text as it arrives. */
export type StreamChat = (request: { model: string; messages: ChatMessage[]; temperature: number }, onDelta: (text: string) => void, signal: AbortSignal) => Promise<StreamResult>;
