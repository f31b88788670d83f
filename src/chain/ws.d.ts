/** The few parts of the `ws` package (7.x, CommonJS) that newHeads.ts uses; the package ships no types. */
declare module "ws" {
  class WebSocket {
    static readonly CLOSED: number;
    constructor(url: string, options?: { handshakeTimeout?: number });
    readonly readyState: number;
    on(event: "open", listener: () => void): this;
    on(event: "message", listener: (data: WebSocket.RawData) => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    on(event: "close", listener: () => void): this;
    once(event: "close", listener: () => void): this;
    send(data: string): void;
    terminate(): void;
  }
  namespace WebSocket {
    type RawData = Buffer | ArrayBuffer | Buffer[];
  }
  export = WebSocket;
}
