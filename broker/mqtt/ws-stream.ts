// MQTT over WebSocket as a Duplex over one `ws` socket, handed to aedes like
// a TCP socket. websocket-stream, used before, stacks readable-stream 2 layers,
// copies every incoming message, sends one frame per MQTT packet while the
// socket keeps up, never pauses a publisher that sends faster than aedes reads,
// and accepts text frames; ws.createWebSocketStream has no _writev, so each
// of a packet's writes leaves as a frame of its own, five per PUBLISH.
// Measurements: bench/ws-adapter.ts.
import { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

type WriteCallback = (error?: Error | null) => void;

export class WebSocketStream extends Duplex {
  /**
   * `writableHighWaterMark` is where write() starts to report backpressure:
   * the bytes `ws` has not yet handed to the kernel count towards it, as a
   * net.Socket's do.
   */
  constructor(private readonly ws: WebSocket, writableHighWaterMark: number) {
    super({ writableHighWaterMark, allowHalfOpen: false });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        // [MQTT-6.0.0-1]: MQTT travels in binary frames; any other data frame closes the connection.
        this.destroy(new Error('MQTT over WebSocket needs binary frames; got a text frame'));
        return;
      }
      // binaryType is ws's default 'nodebuffer': one Buffer per message, however it was fragmented.
      if (!this.push(data as Buffer)) ws.pause();
    });
    // The peer closed: aedes reads what is left, then ends the client, as after a TCP FIN.
    ws.on('close', () => {
      if (!this.destroyed) this.push(null);
    });
    ws.on('error', (err) => this.destroy(err));
  }

  /**
   * One write, one frame, sent at once. aedes writes a turn's PUBLISH
   * packets to a connection as one buffer (patches/aedes+*.patch), and
   * mqtt-packet corks the stream for each of its other packets, so a packet
   * never spans frames it need not span (a frame may carry several MQTT
   * packets, and receivers must not assume alignment [MQTT-6.0.0-2]). Holding
   * writes here for the end of the turn, as before that patch, cost every
   * WebSocket message a turn of the event loop and counted the held bytes as
   * backlog, so a busy turn shed messages to subscribers that kept up.
   * Called back once the frame is in the kernel, so writableLength keeps
   * counting it until then, as a net.Socket's does.
   */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.ws.send(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: WriteCallback): void {
    this.ws.send(Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _final(callback: WriteCallback): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    callback();
  }

  /**
   * aedes destroys the stream without an error to close a client (DISCONNECT,
   * a refused CONNECT): a close frame follows what was already sent. With an
   * error (keepalive or drain timeout, a protocol error) the TCP connection
   * is dropped at once, as net.Socket.destroy() does. A socket `ws` is
   * already closing after its own protocol error is left to finish that.
   */
  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) {
      if (err) this.ws.terminate();
      else this.ws.close(1000);
    }
    callback(err);
  }

}
