/**
 * The typed handle every webview uses to talk to the extension host and to keep its state across reloads.
 * `acquireVsCodeApi` may be called once per page, so panels get the handle from here.
 */
export interface VsCodeApi<Outgoing, State> {
  postMessage(message: Outgoing): void;
  getState(): State | undefined;
  setState(state: State): State;
}

declare function acquireVsCodeApi<Outgoing, State>(): VsCodeApi<Outgoing, State>;

let api: unknown;

export function vscodeApi<Outgoing, State>(): VsCodeApi<Outgoing, State> {
  api ??= acquireVsCodeApi<Outgoing, State>();
  return api as VsCodeApi<Outgoing, State>;
}
