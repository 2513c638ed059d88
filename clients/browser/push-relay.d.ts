/** What the relay needs of the ElevenLabs SDK's conversation (`@elevenlabs/client`). */
export interface ContextualUpdateTarget {
  sendContextualUpdate(text: string): void;
}

/** An `agent_session.push` frame (docs/live-updates.md). */
export interface AgentSessionPush {
  type: "agent_session.push";
  conversationId: string;
  deliveryId: string;
  event: { type: "contextual_update"; text: string };
}

export interface RelayOptions {
  /** This service's base URL, e.g. `window.location.origin` behind the frontend's proxy. */
  baseUrl: string;
  conversationId: string;
  conversation: ContextualUpdateTarget;
  /** One of AGENT_API_KEYS, when the service requires keys. */
  apiKey?: string;
  /** A WebSocket constructor; the browser's by default. */
  WebSocketImpl?: typeof WebSocket;
  minDelayMs?: number;
  maxDelayMs?: number;
  onRelay?: (push: AgentSessionPush) => void;
  onError?: (error: unknown) => void;
}

export function socketUrl(baseUrl: string, conversationId: string, apiKey?: string): string;

export function relayPushes(options: RelayOptions): { close(): void };
