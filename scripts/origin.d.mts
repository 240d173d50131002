import type { IncomingHttpHeaders, Server } from "node:http";

export interface ReceivedEvent {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { subject: string; [key: string]: unknown };
}

export interface RunningOrigin {
  url: string;
  port: number;
  events: ReceivedEvent[];
  server: Server;
  close(): Promise<void>;
}

export function startOrigin(options: {
  port?: number;
  host?: string;
  secret: string;
  /** Paths verified with their own secret (a second receiver, such as the operations webhook). */
  pathSecrets?: Record<string, string>;
  onEvent?: (event: ReceivedEvent) => void;
  onInvalid?: (error: unknown) => void;
}): Promise<RunningOrigin>;
